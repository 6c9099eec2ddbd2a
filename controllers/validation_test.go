package controllers

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

func TestInvalidSpecsAreRefusedWithCELMessage(t *testing.T) {
	te := getEnv(t)
	ns := te.namespace(t)
	tests := []struct {
		name    string
		mutate  func(*lotouv1alpha1.LotouCluster)
		wantMsg string
	}{
		{"port equals httpPort", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Port, lc.Spec.HTTPPort = 7000, 7000 }, "spec.port and spec.httpPort must be different ports"},
		{"port equals default httpPort", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Port = 8080 }, "spec.port and spec.httpPort must be different ports"},
		{"negative replicas", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Slaves.Replicas = ptr.To[int32](-1) }, "spec.slaves.replicas must be between 0 and 1000"},
		{"too many replicas", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Slaves.Replicas = ptr.To[int32](1001) }, "spec.slaves.replicas must be between 0 and 1000"},
		{"empty image", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Image = "" }, "spec.image must not be empty"},
		{"zero maxUnavailable", maxUnav(intstr.FromInt32(0)), "spec.slaves.maxUnavailable must be a number of at least 1"},
		{"negative maxUnavailable", maxUnav(intstr.FromInt32(-2)), "spec.slaves.maxUnavailable must be a number of at least 1"},
		{"zero percent maxUnavailable", maxUnav(intstr.FromString("0%")), "spec.slaves.maxUnavailable must be a number of at least 1"},
		{"over 100 percent maxUnavailable", maxUnav(intstr.FromString("150%")), "spec.slaves.maxUnavailable must be a number of at least 1"},
		{"maxUnavailable string without percent", maxUnav(intstr.FromString("5")), "spec.slaves.maxUnavailable must be a number of at least 1"},
		{"zero heartbeatInterval", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Config.HeartbeatInterval = dur(0) }, "spec.config.heartbeatInterval must be a positive duration"},
		{"negative heartbeatInterval", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Config.HeartbeatInterval = dur(-time.Second) }, "spec.config.heartbeatInterval must be a positive duration"},
		{"zero callTimeout", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Config.CallTimeout = dur(0) }, "spec.config.callTimeout must be a positive duration"},
		{"negative callTimeout", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Config.CallTimeout = dur(-5 * time.Second) }, "spec.config.callTimeout must be a positive duration"},
		{"gate port equals port", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Port: contract.DefaultPort}
		}, "spec.gate.port must differ from spec.port and spec.httpPort"},
		{"gate port equals httpPort", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.HTTPPort = 9000
			lc.Spec.Gate = &lotouv1alpha1.GateSpec{Port: 9000}
		}, "spec.gate.port must differ from spec.port and spec.httpPort"},
		{"default gate port equals port", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Port = contract.DefaultGatePort
			lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true}
		}, "spec.gate.port must differ from spec.port and spec.httpPort"},
		{"gate service type", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Gate = &lotouv1alpha1.GateSpec{Service: lotouv1alpha1.GateServiceSpec{Type: "ExternalName"}}
		}, "Unsupported value"},
		{"etcd without endpoints", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Discovery = &lotouv1alpha1.DiscoverySpec{Type: lotouv1alpha1.DiscoveryEtcd}
		}, "spec.discovery.etcd.endpoints is required when spec.discovery.type is etcd"},
		{"nats without url", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Transport = &lotouv1alpha1.TransportSpec{Type: lotouv1alpha1.TransportNATS, NATS: &lotouv1alpha1.NATSSpec{}}
		}, "spec.transport.nats.url is required when spec.transport.type is nats"},
		{"negative drainTimeout", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Slaves.DrainTimeout = dur(-time.Second) }, "spec.slaves.drainTimeout"},
		{"unknown master disruption policy", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Master.DisruptionPolicy = "Sometimes" }, "Unsupported value"},
		{"gate message limit too small", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.MaxMessageBytes = ptr.To[int32](10) }), "spec.gate.limits.maxMessageBytes"},
		{"gate message limit above 16 MiB", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.MaxMessageBytes = ptr.To[int32](16<<20 + 1) }), "spec.gate.limits.maxMessageBytes"},
		{"negative gate rate", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.MessagesPerSecond = ptr.To[int32](-1) }), "spec.gate.limits.messagesPerSecond"},
		{"gate burst 0", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.Burst = ptr.To[int32](0) }), "spec.gate.limits.burst"},
		{"gate idle timeout 0s", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.IdleTimeout = dur(0) }), "spec.gate.limits.idleTimeout must be between 1s and 24h"},
		{"gate idle timeout 2 days", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.IdleTimeout = dur(48 * time.Hour) }), "spec.gate.limits.idleTimeout must be between 1s and 24h"},
		{"gate max connections 0", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.MaxConnections = ptr.To[int32](0) }), "spec.gate.limits.maxConnections"},
		{"gate queue above 1Mi", gateLimits(func(l *lotouv1alpha1.GateLimitsSpec) { l.QueueMessages = ptr.To[int32](1<<20 + 1) }), "spec.gate.limits.queueMessages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := newLotouCluster(ns, "bad", 1)
			tt.mutate(lc)
			err := te.k8s.Create(context.Background(), lc)
			g := gomega.NewWithT(t)
			g.Expect(err).To(gomega.HaveOccurred())
			g.Expect(err.Error()).To(gomega.ContainSubstring(tt.wantMsg))
		})
	}
	t.Run("valid edges accepted", func(t *testing.T) {
		g := gomega.NewWithT(t)
		for i, n := range []int32{0, 1000} {
			lc := newLotouCluster(ns, []string{"zero", "thousand"}[i], n)
			lc.Spec.Paused = true // keep the envtest API server light
			g.Expect(te.k8s.Create(context.Background(), lc)).To(gomega.Succeed())
		}
		for i, mu := range []intstr.IntOrString{intstr.FromInt32(1000), intstr.FromString("1%"), intstr.FromString("100%")} {
			lc := newLotouCluster(ns, []string{"mu-int", "mu-1pct", "mu-100pct"}[i], 1)
			lc.Spec.Paused = true
			maxUnav(mu)(lc)
			g.Expect(te.k8s.Create(context.Background(), lc)).To(gomega.Succeed())
		}
		lc := newLotouCluster(ns, "gate-limit-edges", 1)
		lc.Spec.Paused = true
		lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Limits: &lotouv1alpha1.GateLimitsSpec{
			MaxMessageBytes: ptr.To[int32](64), MessagesPerSecond: ptr.To[int32](0), Burst: ptr.To[int32](1),
			IdleTimeout: dur(time.Second), MaxConnections: ptr.To[int32](1), QueueMessages: ptr.To[int32](1 << 20)}}
		g.Expect(te.k8s.Create(context.Background(), lc)).To(gomega.Succeed())
		lc = newLotouCluster(ns, "short-durations", 1)
		lc.Spec.Paused = true
		lc.Spec.Config.HeartbeatInterval, lc.Spec.Config.CallTimeout = dur(time.Nanosecond), dur(1500*time.Millisecond)
		g.Expect(te.k8s.Create(context.Background(), lc)).To(gomega.Succeed())
	})
	t.Run("unparsable duration refused naming the field", func(t *testing.T) {
		g := gomega.NewWithT(t)
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": lotouv1alpha1.GroupVersion.String(), "kind": lotouv1alpha1.Kind,
			"metadata": map[string]any{"namespace": ns, "name": "soon"},
			"spec":     map[string]any{"image": "lotou-node:dev", "config": map[string]any{"callTimeout": "soon"}},
		}}
		err := te.k8s.Create(context.Background(), u)
		g.Expect(err).To(gomega.HaveOccurred())
		g.Expect(err.Error()).To(gomega.ContainSubstring("spec.config.callTimeout"))
	})
}

func maxUnav(v intstr.IntOrString) func(*lotouv1alpha1.LotouCluster) {
	return func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Slaves.MaxUnavailable = &v }
}

func gateLimits(set func(*lotouv1alpha1.GateLimitsSpec)) func(*lotouv1alpha1.LotouCluster) {
	return func(lc *lotouv1alpha1.LotouCluster) {
		lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Limits: &lotouv1alpha1.GateLimitsSpec{}}
		set(lc.Spec.Gate.Limits)
	}
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func TestSampleIsAccepted(t *testing.T) {
	te := getEnv(t)
	ns := te.namespace(t)
	raw, err := os.ReadFile(filepath.Join("..", "config", "samples", "apps_v1alpha1_lotoucluster.yaml"))
	g := gomega.NewWithT(t)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	var lc lotouv1alpha1.LotouCluster
	g.Expect(yaml.UnmarshalStrict(raw, &lc)).To(gomega.Succeed())
	lc.Namespace = ns
	lc.Spec.Paused = true
	g.Expect(te.k8s.Create(context.Background(), &lc)).To(gomega.Succeed())
	// The API server applied the CRD defaults.
	g.Expect(lc.Spec.Port).To(gomega.Equal(int32(contract.DefaultPort)))
	g.Expect(lc.Spec.HTTPPort).To(gomega.Equal(int32(contract.DefaultHTTPPort)))
	g.Expect(lc.Spec.Config.HeartbeatInterval.Duration).To(gomega.Equal(contract.DefaultHeartbeatInterval))
	g.Expect(lc.Spec.Config.CallTimeout.Duration).To(gomega.Equal(contract.DefaultCallTimeout))
	g.Expect(lc.Spec.Config.LogLevel).To(gomega.Equal(contract.DefaultLogLevel))
	g.Expect(lc.Spec.Slaves.MaxUnavailable.IntValue()).To(gomega.Equal(1))
	g.Expect(*lc.Spec.Slaves.Replicas).To(gomega.Equal(int32(3)))
}
