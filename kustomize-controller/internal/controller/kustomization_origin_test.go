package controller

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestKustomizationOriginRevision: the source artifact's
// org.opencontainers.image.revision (an ExternalArtifact's originRevision,
// an OCI artifact's source commit) is recorded as
// status.lastAppliedOriginRevision, and cleared by an artifact without one.
func TestKustomizationOriginRevision(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	cm := func(v string) map[string]string {
		return map[string]string{"cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: origin\n  namespace: %s\ndata:\n  v: %q\n", ns, v)}
	}
	art := publish(t, cm("1"))
	art.Metadata = map[string]string{"org.opencontainers.image.revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"}
	repo := newGitRepository(t, ns, "origin", art)
	ks := newKustomization(t, ns, "origin", "origin", nil)
	cur := waitApplied(t, ks, art.Revision, 30*time.Second)
	g.Expect(cur.Status.LastAppliedOriginRevision).To(Equal("main@sha1:0123456789abcdef0123456789abcdef01234567"))

	next := publish(t, cm("2"))
	setArtifact(t, repo, next)
	cur = waitApplied(t, ks, next.Revision, 30*time.Second)
	g.Expect(cur.Status.LastAppliedOriginRevision).To(BeEmpty())
}
