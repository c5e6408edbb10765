package manager

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestLeaderElectionID(t *testing.T) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:8]
	}
	tests := []struct {
		name, controller, selector, want string
	}{
		{name: "no selector", controller: "source-controller", want: "source-controller-leader-election"},
		{name: "shard", controller: "source-controller", selector: "sharding.fluxcd.io/key=shard1",
			want: "source-controller-leader-election-" + hash("sharding.fluxcd.io/key=shard1")},
		{name: "another shard", controller: "source-controller", selector: "sharding.fluxcd.io/key=shard2",
			want: "source-controller-leader-election-" + hash("sharding.fluxcd.io/key=shard2")},
		{name: "main instance of a sharded install", controller: "kustomize-controller", selector: "!sharding.fluxcd.io/key",
			want: "kustomize-controller-leader-election-" + hash("!sharding.fluxcd.io/key")},
		{name: "set-based selector", controller: "helm-controller", selector: "sharding.fluxcd.io/key in (a, b)",
			want: "helm-controller-leader-election-" + hash("sharding.fluxcd.io/key in (a, b)")},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LeaderElectionID(tt.controller, tt.selector)
			if got != tt.want {
				t.Fatalf("LeaderElectionID(%q, %q) = %q, want %q", tt.controller, tt.selector, got, tt.want)
			}
			if again := LeaderElectionID(tt.controller, tt.selector); again != got {
				t.Fatalf("not deterministic: %q then %q", got, again)
			}
			// A Lease name must be a DNS-1123 subdomain.
			if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
				t.Fatalf("%q is not a valid Lease name: %v", got, errs)
			}
			if other, dup := seen[got]; dup {
				t.Fatalf("%q and %q share the Lease %q", other, tt.name, got)
			}
			seen[got] = tt.name
		})
	}
}
