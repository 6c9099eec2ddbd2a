package resources

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// TestGateLimitsEnv: spec.gate.limits reach the slaves as LOTOU_GATE_*,
// only the fields set, only with the gate on, winning over spec.slaves.env.
func TestGateLimitsEnv(t *testing.T) {
	all := &lotouv1alpha1.GateLimitsSpec{MaxMessageBytes: ptr.To[int32](4096), MessagesPerSecond: ptr.To[int32](20),
		Burst: ptr.To[int32](5), IdleTimeout: &metav1.Duration{Duration: 90 * time.Second}, MaxConnections: ptr.To[int32](5000),
		QueueMessages: ptr.To[int32](64)}
	user := []corev1.EnvVar{{Name: contract.EnvGateMaxConns, Value: "7"}, {Name: contract.EnvGateQueue, Value: "9"}}
	cases := []struct {
		name  string
		gate  *lotouv1alpha1.GateSpec
		role  string
		extra []corev1.EnvVar
		want  map[string]string // "" = absent
	}{
		{"every limit", &lotouv1alpha1.GateSpec{Enabled: true, Limits: all}, contract.RoleSlave, nil, map[string]string{
			contract.EnvGateMaxMessage: "4096", contract.EnvGateRate: "20", contract.EnvGateBurst: "5",
			contract.EnvGateIdleTimeout: "1m30s", contract.EnvGateMaxConns: "5000", contract.EnvGateQueue: "64"}},
		{"rate 0 is off", &lotouv1alpha1.GateSpec{Enabled: true, Limits: &lotouv1alpha1.GateLimitsSpec{MessagesPerSecond: ptr.To[int32](0)}},
			contract.RoleSlave, nil, map[string]string{contract.EnvGateRate: "off", contract.EnvGateBurst: ""}},
		{"none set: no variables", &lotouv1alpha1.GateSpec{Enabled: true}, contract.RoleSlave, nil, map[string]string{
			contract.EnvGateMaxMessage: "", contract.EnvGateRate: "", contract.EnvGateMaxConns: ""}},
		{"gate off: no variables", &lotouv1alpha1.GateSpec{Limits: all}, contract.RoleSlave, nil, map[string]string{
			contract.EnvGateMaxMessage: "", contract.EnvGateMaxConns: ""}},
		{"master: no variables", &lotouv1alpha1.GateSpec{Enabled: true, Limits: all}, contract.RoleMaster, nil, map[string]string{
			contract.EnvGateMaxConns: ""}},
		{"typed field beats spec.slaves.env", &lotouv1alpha1.GateSpec{Enabled: true, Limits: &lotouv1alpha1.GateLimitsSpec{MaxConnections: ptr.To[int32](100)}},
			contract.RoleSlave, user, map[string]string{contract.EnvGateMaxConns: "100", contract.EnvGateQueue: "9"}},
		{"spec.slaves.env alone passes", &lotouv1alpha1.GateSpec{Enabled: true}, contract.RoleSlave, user, map[string]string{
			contract.EnvGateMaxConns: "7", contract.EnvGateQueue: "9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lc := newCluster()
			lc.Spec.Gate = tc.gate
			env := Env(lc, tc.role, tc.extra)
			count := map[string]int{}
			got := map[string]string{}
			for _, e := range env {
				count[e.Name]++
				got[e.Name] = e.Value
			}
			for name, want := range tc.want {
				if count[name] > 1 {
					t.Errorf("%s set %d times", name, count[name])
				}
				if got[name] != want {
					t.Errorf("%s = %q, want %q", name, got[name], want)
				}
			}
		})
	}
}
