# shellcheck shell=bash
# certs.sh: the local cluster's PKI and kubeconfigs, made with openssl (sourced by hack/local-cluster.sh).
# Needs: PKI (dir), KCFG (dir), API_URL, API_IP, NODE_NAME, SVC_API_IP.

# mk_key FILE: an ECDSA P-256 key.
mk_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

# mk_ca NAME CN: a self-signed CA valid 10 years.
mk_ca() {
	mk_key "$PKI/$1.key"
	openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-out "$PKI/$1.crt" 2>/dev/null
}

# mk_cert NAME CA SUBJECT EKU [SAN]: a leaf certificate signed by CA (EKU: serverAuth, clientAuth or both).
mk_cert() {
	local name=$1 ca=$2 subj=$3 eku=$4 san=${5:-} ext
	ext="$(mktemp)"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[[ -n "$san" ]] && echo "subjectAltName=$san"
	} >"$ext"
	mk_key "$PKI/$name.key"
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
	rm -f "$ext" "$PKI/$name.csr"
}

# mk_kubeconfig NAME CERT: a kubeconfig for the client certificate CERT with the certs embedded.
mk_kubeconfig() {
	local name=$1 cert=$2
	cat >"$KCFG/$name.conf" <<KC
apiVersion: v1
kind: Config
clusters:
- name: lotou-dev
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/$cert.crt")
    client-key-data: $(base64 -w0 <"$PKI/$cert.key")
contexts:
- name: lotou-dev
  context:
    cluster: lotou-dev
    user: $name
current-context: lotou-dev
KC
	chmod 600 "$KCFG/$name.conf"
}

# make_pki writes every certificate, the service-account key pair and the kubeconfigs.
make_pki() {
	mkdir -p "$PKI" "$KCFG"
	chmod 700 "$PKI"
	mk_ca ca lotou-dev-ca
	mk_ca front-proxy-ca lotou-dev-front-proxy-ca
	mk_cert apiserver ca "/CN=kube-apiserver" serverAuth \
		"IP:127.0.0.1,IP:$API_IP,IP:$SVC_API_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	mk_cert apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
	mk_cert front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
	mk_cert admin ca "/O=system:masters/CN=lotou-dev-admin" clientAuth
	mk_cert controller-manager ca "/CN=system:kube-controller-manager" clientAuth
	mk_cert scheduler ca "/CN=system:kube-scheduler" clientAuth
	mk_cert kubelet ca "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
	mk_cert kube-proxy ca "/CN=system:kube-proxy" clientAuth
	mk_cert kwok ca "/O=system:masters/CN=kwok" clientAuth
	openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
	openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	mk_kubeconfig admin admin
	mk_kubeconfig controller-manager controller-manager
	mk_kubeconfig scheduler scheduler
	mk_kubeconfig kubelet kubelet
	mk_kubeconfig kube-proxy kube-proxy
	mk_kubeconfig kwok kwok
}
