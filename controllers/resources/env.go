package resources

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// Names of helper variables set from the downward API and expanded with
// $(VAR) in the contract variables.
const (
	EnvPodName      = "POD_NAME"
	EnvPodNamespace = "POD_NAMESPACE"
)

// Env builds the container environment wiring a pod of the given role to the
// lotou-node contract, followed by the user's extra variables. User
// variables that reuse a name set by the operator are dropped: the contract
// wins, so a typo in spec cannot split the cluster.
func Env(lc *lotouv1alpha1.LotouCluster, role string, extra []corev1.EnvVar) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: EnvPodName, ValueFrom: fieldRef("metadata.name")},
		{Name: EnvPodNamespace, ValueFrom: fieldRef("metadata.namespace")},
		{Name: contract.EnvRole, Value: role},
		{Name: contract.EnvNodeName, ValueFrom: fieldRef("metadata.name")},
		{Name: contract.EnvListen, Value: fmt.Sprintf(":%d", lc.GetPort())},
		{Name: contract.EnvAdvertise, Value: fmt.Sprintf("$(%s).%s.%s.svc:%d", EnvPodName, NodesServiceName(lc), lc.Namespace, lc.GetPort())},
	}
	if role == contract.RoleSlave {
		env = append(env, corev1.EnvVar{Name: contract.EnvMaster, Value: MasterEndpoint(lc)})
	}
	env = append(env,
		corev1.EnvVar{Name: contract.EnvTokenFile, Value: TokenFilePath},
		corev1.EnvVar{Name: contract.EnvHTTP, Value: fmt.Sprintf(":%d", lc.GetHTTPPort())},
		corev1.EnvVar{Name: contract.EnvServices, Value: strings.Join(lc.Spec.Services, ",")},
		corev1.EnvVar{Name: contract.EnvLogLevel, Value: lc.GetLogLevel()},
		corev1.EnvVar{Name: contract.EnvHeartbeatInterval, Value: lc.GetHeartbeatInterval().String()},
		corev1.EnvVar{Name: contract.EnvCallTimeout, Value: lc.GetCallTimeout().String()},
	)
	if role == contract.RoleSlave {
		env = append(env, corev1.EnvVar{Name: contract.EnvDrainTimeout, Value: lc.GetDrainTimeout().String()})
		if lc.GateEnabled() {
			env = append(env, corev1.EnvVar{Name: contract.EnvGate, Value: fmt.Sprintf(":%d", lc.GetGatePort())})
			env = append(env, gateLimitsEnv(lc.Spec.Gate.Limits)...)
		}
	}
	env = append(env, backendEnv(lc)...)
	reserved := make(map[string]bool, len(env)+4)
	for _, e := range env {
		reserved[e.Name] = true
	}
	for _, name := range reservedEnv {
		reserved[name] = true
	}
	for _, e := range extra {
		if !reserved[e.Name] {
			env = append(env, e)
		}
	}
	return env
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
}

// reservedEnv are contract variables a user's spec.*.env may not set even
// where the operator leaves them out: they would split the cluster or
// bypass the token file.
var reservedEnv = []string{
	contract.EnvMaster, contract.EnvClusterToken, contract.EnvTokenFile, contract.EnvGate, contract.EnvDrainTimeout,
	contract.EnvDiscovery, contract.EnvEtcdEndpoints, contract.EnvEtcdUsername, contract.EnvEtcdPassword,
	contract.EnvEtcdTLSDir, contract.EnvTransport, contract.EnvNATSURL, contract.EnvNATSCreds, contract.EnvNATSToken,
}

// backendEnv wires the discovery and transport backends: nothing for the
// defaults (master registry, direct TCP), so existing clusters keep their
// pod template.
func backendEnv(lc *lotouv1alpha1.LotouCluster) []corev1.EnvVar {
	var env []corev1.EnvVar
	if lc.GetDiscoveryType() == lotouv1alpha1.DiscoveryEtcd {
		env = append(env, corev1.EnvVar{Name: contract.EnvDiscovery, Value: lotouv1alpha1.DiscoveryEtcd})
		if e := lc.Spec.Discovery.Etcd; e != nil {
			env = append(env, corev1.EnvVar{Name: contract.EnvEtcdEndpoints, Value: strings.Join(e.Endpoints, ",")})
			if e.SecretRef != nil {
				env = append(env,
					corev1.EnvVar{Name: contract.EnvEtcdUsername, ValueFrom: secretKey(e.SecretRef.Name, EtcdUsernameKey)},
					corev1.EnvVar{Name: contract.EnvEtcdPassword, ValueFrom: secretKey(e.SecretRef.Name, EtcdPasswordKey)})
			}
			if e.TLSSecretRef != nil {
				env = append(env, corev1.EnvVar{Name: contract.EnvEtcdTLSDir, Value: EtcdTLSDir})
			}
		}
	}
	if lc.GetTransportType() == lotouv1alpha1.TransportNATS {
		env = append(env, corev1.EnvVar{Name: contract.EnvTransport, Value: lotouv1alpha1.TransportNATS})
		if n := lc.Spec.Transport.NATS; n != nil {
			env = append(env, corev1.EnvVar{Name: contract.EnvNATSURL, Value: n.URL})
			if n.SecretRef != nil {
				env = append(env,
					corev1.EnvVar{Name: contract.EnvNATSCreds, Value: NATSDir + "/" + NATSCredsKey},
					corev1.EnvVar{Name: contract.EnvNATSToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: *n.SecretRef, Key: NATSTokenKey, Optional: ptr.To(true),
					}}})
			}
		}
	}
	return env
}

func secretKey(name, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key,
	}}
}

// gateLimitsEnv sets the gate limits of spec.gate.limits that are set; a
// user's spec.slaves.env of the same name is then dropped (the typed,
// validated field wins). Nothing when none is set, so clusters without
// limits keep their pod template.
func gateLimitsEnv(l *lotouv1alpha1.GateLimitsSpec) []corev1.EnvVar {
	if l == nil {
		return nil
	}
	var env []corev1.EnvVar
	for _, v := range []struct {
		name string
		val  *int32
	}{
		{contract.EnvGateMaxMessage, l.MaxMessageBytes},
		{contract.EnvGateBurst, l.Burst},
		{contract.EnvGateMaxConns, l.MaxConnections},
		{contract.EnvGateQueue, l.QueueMessages},
	} {
		if v.val != nil {
			env = append(env, corev1.EnvVar{Name: v.name, Value: strconv.Itoa(int(*v.val))})
		}
	}
	if r := l.MessagesPerSecond; r != nil {
		rate := strconv.Itoa(int(*r))
		if *r == 0 {
			rate = "off"
		}
		env = append(env, corev1.EnvVar{Name: contract.EnvGateRate, Value: rate})
	}
	if l.IdleTimeout != nil {
		env = append(env, corev1.EnvVar{Name: contract.EnvGateIdleTimeout, Value: l.IdleTimeout.Duration.String()})
	}
	return env
}
