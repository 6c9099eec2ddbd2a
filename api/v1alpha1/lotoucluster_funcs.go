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
