package bootstrap

import (
	"testing"
	"time"
)

// TestSyncObjectsInterval: --interval sets the GitRepository's interval
// (1m when not given, as in Flux); the Kustomization keeps 10m.
func TestSyncObjectsInterval(t *testing.T) {
	for _, tc := range []struct{ given, want time.Duration }{{0, time.Minute}, {5 * time.Minute, 5 * time.Minute}} {
		repo, ks := SyncObjects("flux-system", "ssh://git@example.com/fleet", "main", "clusters/production", tc.given)
		if repo.Spec.Interval.Duration != tc.want || ks.Spec.Interval.Duration != 10*time.Minute || ks.Spec.Path != "./clusters/production" {
			t.Fatalf("interval %v: GitRepository %v, Kustomization %v %s", tc.given, repo.Spec.Interval, ks.Spec.Interval, ks.Spec.Path)
		}
	}
}
