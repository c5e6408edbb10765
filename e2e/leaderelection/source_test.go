package leaderelection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// sourceObjects are one object of each source kind but GitRepository,
// in the shard the pair watches; %[1]s is the namespace.
const sourceObjects = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: oci, namespace: %[1]s, labels: {sharding.fluxcd.io/key: shard1}}
spec: {interval: 1h, url: %[2]q, ref: {tag: "1.0.0"}, insecure: true}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: %[1]s, labels: {sharding.fluxcd.io/key: shard1}}
spec: {interval: 1h, url: %[3]q}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: podinfo, namespace: %[1]s, labels: {sharding.fluxcd.io/key: shard1}}
spec: {interval: 1h, chart: podinfo, version: "1.0.0", sourceRef: {kind: HelmRepository, name: charts}}
---
apiVersion: v1
kind: Secret
metadata: {name: s3-keys, namespace: %[1]s}
stringData: {accesskey: AKID, secretkey: s3cret}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: bucket, namespace: %[1]s, labels: {sharding.fluxcd.io/key: shard1}}
spec: {interval: 1h, bucketName: manifests, endpoint: %[4]q, insecure: true, secretRef: {name: s3-keys}}
`

// sourceStory is source-controller's: a shard's replicas. Before the
// kill the standby is not ready, and both the shard's Lease and the main
// instance's are held (shards do not wait for each other). After it the
// new leader is ready and serves every artifact the old one published,
// rebuilt from the sources into its own empty storage, at the same URL
// with the same digest.
func sourceStory(t *testing.T) story {
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	if _, err := git.CommitFiles("app", "main", map[string]string{"cm.yaml": "kind: ConfigMap\n"}, "app"); err != nil {
		t.Fatal(err)
	}
	var published map[string]meta.Artifact
	return story{
		controller: "source-controller",
		selector:   shardSelector,
		reconciled: func(ctx context.Context, t *testing.T, p *pair, name string) func() error {
			applyYAML(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: %s, namespace: %s, labels: {%s: shard1}}
spec: {interval: 1h, url: %q, ref: {branch: main}}
`, name, p.ns, shardLabel, git.URL("app")))
			obj := &sourcev1.GitRepository{}
			obj.Namespace, obj.Name = p.ns, name
			return func() error { return hasArtifact(ctx, obj) }
		},
		beforeKill: func(ctx context.Context, t *testing.T, p *pair) {
			eventually(t, p.reps, time.Minute, "the leader ready", func() error { return isReady(p.leader) })
			// Not ready for being a standby, not for being down: it answers.
			if code, body, err := readyz(p.standby); err != nil || code == http.StatusOK || !strings.Contains(body, "[-]leader failed") {
				t.Fatalf("the standby's /readyz: %d %q %v; want the leader check failing, or a Service routes downloads to its empty storage", code, body, err)
			}
			main := manager.LeaderElectionID("source-controller", mainSelector)
			if holder, err := leaseHolder(ctx, main); err != nil || holder == "" || main == p.lease {
				t.Fatalf("the main instance's Lease %s (holder %q, err %v) must be held beside the shard's %s", main, holder, err, p.lease)
			}
			createSources(ctx, t, p.ns)
			published = artifacts(ctx, t, p)
			for key, art := range published {
				if err := served(art); err != nil {
					t.Fatalf("%s before the kill: %v", key, err)
				}
			}
		},
		afterTakeover: func(ctx context.Context, t *testing.T, p *pair) {
			eventually(t, p.reps, time.Minute, "the new leader ready", func() error { return isReady(p.standby) })
			for key, art := range published {
				eventually(t, p.reps, time.Minute, key+" served by the new leader", func() error { return served(art) })
				t.Logf("%s: %s served again %s after the kill", key, art.URL, time.Since(p.killed).Round(time.Millisecond))
			}
			for key, art := range artifacts(ctx, t, p) {
				if was := published[key]; art.URL != was.URL || art.Digest != was.Digest {
					t.Errorf("%s: status artifact %s %s after the takeover, %s %s before", key, art.URL, art.Digest, was.URL, was.Digest)
				}
			}
		},
	}
}

// createSources pushes the content of one source of every other kind to
// a local server and creates the sources, in the pair's shard.
func createSources(ctx context.Context, t *testing.T, namespace string) {
	t.Helper()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	testserver.PushRandomImage(t, reg.Host()+"/app:1.0.0", nil)
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("podinfo", "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: "AKID", SecretKey: "s3cret"})
	if err := s3.CreateBucket("manifests"); err != nil {
		t.Fatal(err)
	}
	if err := s3.PutObject("manifests", "cm.yaml", "kind: ConfigMap\n"); err != nil {
		t.Fatal(err)
	}
	applyYAML(ctx, t, fmt.Sprintf(sourceObjects, namespace, "oci://"+reg.Host()+"/app", charts.URL(), s3.Endpoint()))
}

// artifactSource is a source kind with conditions.
type artifactSource interface {
	testenv.ReadyObject
	GetArtifact() *meta.Artifact
}

// artifacts waits until the GitRepository "before" and the sources of
// createSources are Ready, and returns their artifacts by kind/name.
func artifacts(ctx context.Context, t *testing.T, p *pair) map[string]meta.Artifact {
	t.Helper()
	objs := map[string]artifactSource{
		"GitRepository/before":  &sourcev1.GitRepository{},
		"OCIRepository/oci":     &sourcev1.OCIRepository{},
		"HelmRepository/charts": &sourcev1.HelmRepository{},
		"HelmChart/podinfo":     &sourcev1.HelmChart{},
		"Bucket/bucket":         &sourcev1.Bucket{},
	}
	out := map[string]meta.Artifact{}
	for key, obj := range objs {
		obj.SetNamespace(p.ns)
		obj.SetName(key[strings.Index(key, "/")+1:])
		eventually(t, p.reps, time.Minute, key+" ready", func() error { return hasArtifact(ctx, obj) })
		out[key] = *obj.GetArtifact()
	}
	return out
}

// hasArtifact is nil once obj is Ready with an artifact.
func hasArtifact(ctx context.Context, obj artifactSource) error {
	if err := ready(ctx, obj); err != nil {
		return err
	}
	if obj.GetArtifact() == nil {
		return fmt.Errorf("%s: Ready without an artifact", obj.GetName())
	}
	return nil
}

// served downloads art from its URL and checks its digest.
func served(art meta.Artifact) error {
	resp, err := http.Get(art.URL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", art.URL, resp.Status)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != art.Digest {
		return fmt.Errorf("GET %s: digest %s, status says %s", art.URL, got, art.Digest)
	}
	return nil
}

// isReady is nil when the replica answers /readyz with 200.
func isReady(rep *testenv.Replica) error {
	code, body, err := readyz(rep)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("replica %d /readyz: %d %s", rep.Index, code, body)
	}
	return nil
}

// TestLeaderElectionSourceController: see sourceStory.
func TestLeaderElectionSourceController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sourceStory(t).run(ctx, t)
}
