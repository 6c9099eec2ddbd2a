//go:build tools

// Package tools pins the kwok build for hack/setup-envtest.sh; it is never compiled.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
