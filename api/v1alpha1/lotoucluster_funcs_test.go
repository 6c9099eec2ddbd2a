package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/lotou-io/lotou/runtime/contract"
)

func TestAccessorsDefaultLikeTheCRD(t *testing.T) {
	empty := &LotouCluster{}
	set := &LotouCluster{Spec: LotouClusterSpec{
		Port: 5000, HTTPPort: 9000,
		Config: NodeConfig{HeartbeatInterval: &metav1.Duration{Duration: 2 * time.Second}, CallTimeout: &metav1.Duration{Duration: time.Second}, LogLevel: "debug"},
		Slaves: SlavesSpec{Replicas: ptr.To[int32](0), MaxUnavailable: ptr.To(intstr.FromString("50%"))},
	}}
	tests := []struct {
		name      string
		got, want any
	}{
		{"port default", empty.GetPort(), int32(contract.DefaultPort)},
		{"port set", set.GetPort(), int32(5000)},
		{"httpPort default", empty.GetHTTPPort(), int32(contract.DefaultHTTPPort)},
		{"httpPort set", set.GetHTTPPort(), int32(9000)},
		{"replicas default", empty.GetSlaveReplicas(), int32(1)},
		{"replicas zero kept", set.GetSlaveReplicas(), int32(0)},
		{"maxUnavailable default", empty.GetMaxUnavailable(), intstr.FromInt32(1)},
		{"maxUnavailable set", set.GetMaxUnavailable(), intstr.FromString("50%")},
		{"heartbeat default", empty.GetHeartbeatInterval(), contract.DefaultHeartbeatInterval},
		{"heartbeat set", set.GetHeartbeatInterval(), 2 * time.Second},
		{"callTimeout default", empty.GetCallTimeout(), contract.DefaultCallTimeout},
		{"callTimeout set", set.GetCallTimeout(), time.Second},
		{"logLevel default", empty.GetLogLevel(), contract.DefaultLogLevel},
		{"logLevel set", set.GetLogLevel(), "debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
