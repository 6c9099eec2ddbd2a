package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lotou-io/lotou/runtime/contract"
)

// The accessors below return the effective value of a field: the field when
// set, else the same default the CRD applies. The API server defaults every
// stored object, so these only matter for objects built in memory (tests,
// dry runs), where they keep builders free of nil checks.

// GetPort returns spec.port or contract.DefaultPort.
func (c *LotouCluster) GetPort() int32 {
	if c.Spec.Port == 0 {
		return contract.DefaultPort
	}
	return c.Spec.Port
}

// GetHTTPPort returns spec.httpPort or contract.DefaultHTTPPort.
func (c *LotouCluster) GetHTTPPort() int32 {
	if c.Spec.HTTPPort == 0 {
		return contract.DefaultHTTPPort
	}
	return c.Spec.HTTPPort
}

// GetSlaveReplicas returns spec.slaves.replicas or 1.
func (c *LotouCluster) GetSlaveReplicas() int32 {
	if c.Spec.Slaves.Replicas == nil {
		return 1
	}
	return *c.Spec.Slaves.Replicas
}

// GetMaxUnavailable returns spec.slaves.maxUnavailable or 1.
func (c *LotouCluster) GetMaxUnavailable() intstr.IntOrString {
	if c.Spec.Slaves.MaxUnavailable == nil {
		return intstr.FromInt32(1)
	}
	return *c.Spec.Slaves.MaxUnavailable
}

// GetHeartbeatInterval returns spec.config.heartbeatInterval or contract.DefaultHeartbeatInterval.
func (c *LotouCluster) GetHeartbeatInterval() time.Duration {
	if c.Spec.Config.HeartbeatInterval == nil {
		return contract.DefaultHeartbeatInterval
	}
	return c.Spec.Config.HeartbeatInterval.Duration
}

// GetCallTimeout returns spec.config.callTimeout or contract.DefaultCallTimeout.
func (c *LotouCluster) GetCallTimeout() time.Duration {
	if c.Spec.Config.CallTimeout == nil {
		return contract.DefaultCallTimeout
	}
	return c.Spec.Config.CallTimeout.Duration
}

// GetLogLevel returns spec.config.logLevel or contract.DefaultLogLevel.
func (c *LotouCluster) GetLogLevel() string {
	if c.Spec.Config.LogLevel == "" {
		return contract.DefaultLogLevel
	}
	return c.Spec.Config.LogLevel
}

// GetDrainTimeout returns spec.slaves.drainTimeout or contract.DefaultDrainTimeout.
func (c *LotouCluster) GetDrainTimeout() time.Duration {
	if c.Spec.Slaves.DrainTimeout == nil {
		return contract.DefaultDrainTimeout
	}
	return c.Spec.Slaves.DrainTimeout.Duration
}

// GateEnabled tells whether spec.gate.enabled is set.
func (c *LotouCluster) GateEnabled() bool { return c.Spec.Gate != nil && c.Spec.Gate.Enabled }

// GetGatePort returns spec.gate.port or contract.DefaultGatePort.
func (c *LotouCluster) GetGatePort() int32 {
	if c.Spec.Gate == nil || c.Spec.Gate.Port == 0 {
		return contract.DefaultGatePort
	}
	return c.Spec.Gate.Port
}

// GetGateServiceType returns spec.gate.service.type or ClusterIP.
func (c *LotouCluster) GetGateServiceType() string {
	if c.Spec.Gate == nil || c.Spec.Gate.Service.Type == "" {
		return GateServiceClusterIP
	}
	return c.Spec.Gate.Service.Type
}

// GetMasterDisruptionPolicy returns spec.master.disruptionPolicy or Allow.
func (c *LotouCluster) GetMasterDisruptionPolicy() string {
	if c.Spec.Master.DisruptionPolicy == "" {
		return MasterDisruptionAllow
	}
	return c.Spec.Master.DisruptionPolicy
}

// GetDiscoveryType returns spec.discovery.type or master.
func (c *LotouCluster) GetDiscoveryType() string {
	if c.Spec.Discovery == nil || c.Spec.Discovery.Type == "" {
		return DiscoveryMaster
	}
	return c.Spec.Discovery.Type
}

// GetTransportType returns spec.transport.type or tcp.
func (c *LotouCluster) GetTransportType() string {
	if c.Spec.Transport == nil || c.Spec.Transport.Type == "" {
		return TransportTCP
	}
	return c.Spec.Transport.Type
}
