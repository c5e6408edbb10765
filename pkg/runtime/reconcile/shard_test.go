package reconcile

import (
	"strings"
	"testing"
)

// TestShardMessages: a sharded controller names its --watch-label-selector
// in the messages of references not found or outside its shard; an
// unsharded one says what it always said.
func TestShardMessages(t *testing.T) {
	const key = "sharding.fluxcd.io/key"
	for _, tc := range []struct {
		name           string
		selector       string
		labels         map[string]string
		wantNotFound   string
		wantNotInShard string
		wantElsewhere  string
	}{
		{name: "not sharded", labels: map[string]string{key: "shard2"},
			wantNotFound: "X not found", wantNotInShard: "X not found"},
		{name: "shard, dependency in it", selector: key + "=shard1", labels: map[string]string{key: "shard1"},
			wantNotFound:   "X not found (reconciled by the shard --watch-label-selector=" + key + "=shard1)",
			wantNotInShard: "X not found in this controller's shard (--watch-label-selector=" + key + "=shard1): an object of another shard is not visible here"},
		{name: "shard, dependency in another", selector: key + "=shard1", labels: map[string]string{key: "shard2"},
			wantNotFound:   "(reconciled by the shard --watch-label-selector=" + key + "=shard1)",
			wantNotInShard: "--watch-label-selector=" + key + "=shard1",
			wantElsewhere:  " (it is outside this controller's shard --watch-label-selector=" + key + "=shard1: the instance whose shard selects it reconciles it)"},
		{name: "main shard, dependency unlabelled", selector: "!" + key, labels: nil,
			wantNotFound: "--watch-label-selector=!" + key, wantNotInShard: "--watch-label-selector=!" + key},
		{name: "main shard, dependency in a shard", selector: "!" + key, labels: map[string]string{key: "shard1"},
			wantNotFound: "--watch-label-selector=!" + key, wantNotInShard: "--watch-label-selector=!" + key,
			wantElsewhere: "outside this controller's shard --watch-label-selector=!" + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewShard(tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			if s.String() != tc.selector {
				t.Errorf("String() = %q, want %q", s.String(), tc.selector)
			}
			if got := s.NotFound("X"); !strings.HasPrefix(got, "X not found") || !strings.Contains(got, tc.wantNotFound) {
				t.Errorf("NotFound = %q, want it to contain %q", got, tc.wantNotFound)
			}
			if got := s.NotInShard("X"); !strings.HasPrefix(got, "X not found") || !strings.Contains(got, tc.wantNotInShard) {
				t.Errorf("NotInShard = %q, want it to contain %q", got, tc.wantNotInShard)
			}
			got := s.Elsewhere(tc.labels)
			if (tc.wantElsewhere == "") != (got == "") || !strings.Contains(got, tc.wantElsewhere) {
				t.Errorf("Elsewhere = %q, want %q", got, tc.wantElsewhere)
			}
		})
	}
	if _, err := NewShard("a in (b"); err == nil || !strings.Contains(err.Error(), "--watch-label-selector") {
		t.Errorf("bad selector: err = %v, want one naming the flag", err)
	}
}
