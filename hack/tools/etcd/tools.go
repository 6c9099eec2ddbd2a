//go:build tools

// Package tools pins the etcd build for hack/setup-envtest.sh; it is never compiled.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
