package predicates

import (
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
)

func TestArtifactChanged(t *testing.T) {
	a := &meta.Artifact{Revision: "main@sha1:1", Digest: "sha256:a"}
	tests := []struct {
		name     string
		old, cur *meta.Artifact
		want     bool
	}{
		{"no artifact yet", nil, nil, false},
		{"artifact removed", a, nil, false},
		{"first artifact", nil, a, true},
		{"same artifact", a, a.DeepCopy(), false},
		{"new revision", a, &meta.Artifact{Revision: "main@sha1:2", Digest: "sha256:a"}, true},
		{"new digest", a, &meta.Artifact{Revision: "main@sha1:1", Digest: "sha256:b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ArtifactChanged(tt.old, tt.cur); got != tt.want {
				t.Fatalf("ArtifactChanged = %v, want %v", got, tt.want)
			}
		})
	}
}
