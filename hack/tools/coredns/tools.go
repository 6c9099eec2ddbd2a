//go:build tools

// Package tools pins the coredns build for hack/setup-envtest.sh; it is never compiled.
package tools

import (
	_ "github.com/coredns/coredns"
)
