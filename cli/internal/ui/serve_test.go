package ui

import (
	"context"
	"strings"
	"testing"
)

func TestServeListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:9080", "example.com:80", "no-port"} {
		t.Run(addr, func(t *testing.T) {
			err := (&Server{}).Serve(context.Background(), addr, func(string) { t.Fatal("served") })
			if err == nil || !strings.Contains(err.Error(), "--address") {
				t.Fatalf("Serve(%q) = %v, want an --address error", addr, err)
			}
		})
	}
}
