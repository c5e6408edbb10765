//go:build tools

// Package kwok pins the kwok command so go mod tidy keeps it.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
