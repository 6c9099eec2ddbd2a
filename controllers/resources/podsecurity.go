package resources

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// NonRootID is the user and group the lotou-node container runs as by
// default (the "nonroot" id of distroless images; lotou-node's image is
// FROM scratch and needs no user entry for it).
const NonRootID = 65532

// Paths of the files the operator mounts into lotou-node containers.
const (
	// TokenDir holds the cluster token file, mounted read-only from the token Secret.
	TokenDir = "/etc/lotou/token" //nolint:gosec // G101: a mount path, not a credential
	// TokenFilePath is the token file, passed as LOTOU_TOKEN_FILE.
	TokenFilePath = TokenDir + "/" + TokenKey
	// EtcdTLSDir holds the etcd client TLS files (spec.discovery.etcd.tlsSecretRef).
	EtcdTLSDir = "/etc/lotou/etcd-tls"
	// NATSDir holds the NATS credentials file (spec.transport.nats.secretRef, key "creds").
	NATSDir = "/etc/lotou/nats"
)

// Keys read from user Secrets.
const (
	EtcdUsernameKey = "username"
	EtcdPasswordKey = "password"
	NATSCredsKey    = "creds"
	NATSTokenKey    = "token"
)

// Volume names of lotou-node pods.
const (
	volumeToken   = "token"
	volumeEtcdTLS = "etcd-tls"
	volumeNATS    = "nats"
)

// podSecurityContext is the role's spec.*.podSecurityContext, or the
// defaults of the restricted Pod Security Standard.
func podSecurityContext(rs *lotouv1alpha1.RoleSpec) *corev1.PodSecurityContext {
	if rs.PodSecurityContext != nil {
		return rs.PodSecurityContext.DeepCopy()
	}
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](NonRootID),
		RunAsGroup:     ptr.To[int64](NonRootID),
		FSGroup:        ptr.To[int64](NonRootID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// containerSecurityContext is the role's spec.*.securityContext, or the
// restricted defaults: nothing to escalate to, nothing to write to.
func containerSecurityContext(rs *lotouv1alpha1.RoleSpec) *corev1.SecurityContext {
	if rs.SecurityContext != nil {
		return rs.SecurityContext.DeepCopy()
	}
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// volumes are the token Secret and, when configured, the backends' Secrets.
// Secret files are read-only (mode 0444): the container runs one process,
// and a user podSecurityContext without fsGroup must not make the token
// unreadable.
func volumes(lc *lotouv1alpha1.LotouCluster) []corev1.Volume {
	vols := []corev1.Volume{secretVolume(volumeToken, TokenSecretName(lc), []corev1.KeyToPath{{Key: TokenKey, Path: TokenKey}}, false)}
	if d := lc.Spec.Discovery; lc.GetDiscoveryType() == lotouv1alpha1.DiscoveryEtcd && d.Etcd != nil && d.Etcd.TLSSecretRef != nil {
		vols = append(vols, secretVolume(volumeEtcdTLS, d.Etcd.TLSSecretRef.Name, nil, false))
	}
	if t := lc.Spec.Transport; lc.GetTransportType() == lotouv1alpha1.TransportNATS && t.NATS != nil && t.NATS.SecretRef != nil {
		vols = append(vols, secretVolume(volumeNATS, t.NATS.SecretRef.Name, []corev1.KeyToPath{{Key: NATSCredsKey, Path: NATSCredsKey}}, true))
	}
	return vols
}

func secretVolume(name, secret string, items []corev1.KeyToPath, optional bool) corev1.Volume {
	src := &corev1.SecretVolumeSource{SecretName: secret, Items: items, DefaultMode: ptr.To[int32](0o444)}
	if optional {
		src.Optional = ptr.To(true)
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: src}}
}

// volumeMounts mount every volume of volumes read-only.
func volumeMounts(lc *lotouv1alpha1.LotouCluster) []corev1.VolumeMount {
	mounts := []corev1.VolumeMount{{Name: volumeToken, MountPath: TokenDir, ReadOnly: true}}
	for _, v := range volumes(lc)[1:] {
		path := EtcdTLSDir
		if v.Name == volumeNATS {
			path = NATSDir
		}
		mounts = append(mounts, corev1.VolumeMount{Name: v.Name, MountPath: path, ReadOnly: true})
	}
	return mounts
}
