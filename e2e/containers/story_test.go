package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

const (
	gitUser, gitPassword = "git", "containers-token"
	regUser, regPassword = "robot", "containers-registry-token"
	appRepo              = "myorg/k8s-manifests"
)

// helmObjects are a HelmRepository and a HelmRelease of one chart.
const helmObjects = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: flux-system
spec:
  interval: 10m
  url: %s
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: hello
  namespace: flux-system
spec:
  interval: 10m
  targetNamespace: production
  chart:
    spec:
      chart: hello
      version: "1.x"
      sourceRef:
        kind: HelmRepository
        name: charts
  values:
    message: from-a-container
`

// otherSources are an OCIRepository and a Bucket, so source-controller
// reconciles every kind it serves.
const otherSources = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: manifests
  namespace: flux-system
spec:
  interval: 10m
  url: oci://%s
  insecure: true
  secretRef:
    name: ghcr-credentials
  ref:
    tag: v1
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata:
  name: manifests
  namespace: flux-system
spec:
  interval: 10m
  provider: generic
  bucketName: manifests
  endpoint: %s
  insecure: true
`

// receiver has the app's GitRepository fetch on a call.
const receiver = `apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: my-app
  namespace: flux-system
spec:
  type: generic
  secretRef:
    name: receiver-token
  resources:
    - kind: GitRepository
      name: my-app
`

// TestControllersFromImages is the seed guide's flow with every controller
// running from its image as its Deployment declares it: the app synced by
// GitRepository + Kustomization, its image bumped by image automation and
// synced again through a Receiver behind the webhook-receiver Service, a
// HelmRelease, an OCIRepository and a Bucket, and the Slack alert of the
// Kustomization; then each controller's /metrics has the series of every
// kind it reconciled.
func TestControllersFromImages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: gitUser, Password: gitPassword}})
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: regUser, Password: regPassword}})
	regAuth := &authn.Basic{Username: regUser, Password: regPassword}
	sink := testserver.NewWebhookSinkForTest(t)
	image := reg.Host() + "/myorg/my-app"

	auths, _ := json.Marshal(map[string]any{"auths": map[string]any{reg.Host(): map[string]string{"username": regUser, "password": regPassword}}})
	createSecret(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ghcr-credentials"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: auths}})
	createSecret(ctx, t, opaque("git-credentials", map[string]string{"username": gitUser, "password": gitPassword}))
	createSecret(ctx, t, opaque("slack-webhook", map[string]string{"address": sink.URL()}))
	createSecret(ctx, t, opaque("receiver-token", map[string]string{"token": "containers-receiver-token"}))

	// The Slack alert first, so the Kustomization's events reach it.
	applyFile(ctx, t, filepath.Join(seedDir(t), "cluster", "notification.yaml"), nil)

	// The app: the guide's corrected repository, its image on the test registry.
	testserver.PushRandomImage(t, image+":v1.2.3", regAuth)
	app := treeFiles(t, filepath.Join(seedDir(t), "app-repo-corrected"))
	for p, c := range app {
		app[p] = strings.ReplaceAll(c, "ghcr.io/myorg/my-app", image)
	}
	first, err := git.CommitFiles(appRepo, "main", app, "the guide's app")
	if err != nil {
		t.Fatal(err)
	}
	applyFile(ctx, t, filepath.Join(seedDir(t), "cluster", "gitrepository-kustomization.yaml"), func(u *unstructured.Unstructured) {
		if u.GetKind() == sourcev1.GitRepositoryKind {
			_ = unstructured.SetNestedField(u.Object, git.URL(appRepo), "spec", "url")
		}
	})
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	took := eventually(t, 3*time.Minute, "the app synced", func() error { return appliedRevision(ctx, ks, first) })
	t.Logf("GitRepository + Kustomization → applied and healthy in %s; images built in %s; from the image build to the app Ready: %s",
		took.Round(time.Millisecond), imagesBuilt.Round(time.Second), time.Since(suiteStart).Round(time.Second))

	// Image automation: a new tag is committed to Git, the Receiver (called
	// through its Service) has the source fetch it, and it is applied. The
	// tag is pushed before the ImageRepository exists: its first scan must
	// see it (the next is 5 minutes later).
	testserver.PushRandomImage(t, image+":v1.2.4", regAuth)
	applyFile(ctx, t, filepath.Join(seedDir(t), "cluster", "image-automation.yaml"), func(u *unstructured.Unstructured) {
		if u.GetKind() == imagev1.ImageRepositoryKind {
			_ = unstructured.SetNestedField(u.Object, image, "spec", "image")
			_ = unstructured.SetNestedField(u.Object, true, "spec", "insecure")
		}
	})
	policy := &imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	eventually(t, 2*time.Minute, "policy selects v1.2.4", func() error {
		if err := readyStatus(ctx, policy); err != nil {
			return err
		}
		if policy.Status.LatestRef == nil || policy.Status.LatestRef.Tag != "v1.2.4" {
			return fmt.Errorf("latest %+v", policy.Status.LatestRef)
		}
		return nil
	})
	var bumped string
	eventually(t, 2*time.Minute, "automation commit", func() error {
		head, err := git.Resolve(appRepo, "main")
		if err != nil || head == first {
			return fmt.Errorf("head %s: %v", head, err)
		}
		bumped = head
		return nil
	})
	recv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	applyText(ctx, t, receiver, nil)
	eventually(t, time.Minute, "receiver ready", func() error { return readyStatus(ctx, recv) })
	callReceiver(t, recv.Status.WebhookPath)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}
	eventually(t, 2*time.Minute, "the new image applied", func() error {
		if err := appliedRevision(ctx, ks, bumped); err != nil {
			return err
		}
		if err := get(ctx, dep); err != nil {
			return err
		}
		if img := dep.Spec.Template.Spec.Containers[0].Image; img != image+":v1.2.4" {
			return fmt.Errorf("image %s", img)
		}
		return nil
	})

	// Helm: a chart from a Helm repository released into production.
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("hello", "1.0.0", map[string]string{
		"values.yaml":              "message: hello\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  message: {{ .Values.message | quote }}\n",
	}); err != nil {
		t.Fatal(err)
	}
	applyText(ctx, t, fmt.Sprintf(helmObjects, charts.URL()), nil)
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "production-hello"}}
	eventually(t, 2*time.Minute, "the HelmRelease installed", func() error {
		if err := readyStatus(ctx, hr); err != nil {
			return err
		}
		if err := get(ctx, cm); err != nil {
			return err
		}
		if cm.Data["message"] != "from-a-container" {
			return fmt.Errorf("message %q", cm.Data["message"])
		}
		return nil
	})

	// OCI and S3 sources.
	pushManifests(ctx, t, reg.Host()+"/myorg/manifests:v1", regAuth)
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{})
	if err := s3.CreateBucket("manifests"); err != nil {
		t.Fatal(err)
	}
	if err := s3.PutObject("manifests", "cm.yaml", "kind: ConfigMap\n"); err != nil {
		t.Fatal(err)
	}
	applyText(ctx, t, fmt.Sprintf(otherSources, reg.Host()+"/myorg/manifests", s3.Endpoint()), nil)
	for _, obj := range []conditions.Setter{
		&sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manifests"}},
		&sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manifests"}},
	} {
		eventually(t, 2*time.Minute, fmt.Sprintf("%T ready", obj), func() error { return readyStatus(ctx, obj) })
	}

	// The Slack alert: the Kustomization's events arrived in Slack's shape.
	eventually(t, time.Minute, "Slack message about the Kustomization", func() error {
		for _, r := range sink.Requests() {
			if testserver.SlackMessage(r.Body) == nil && strings.Contains(string(r.Body), "kustomization/my-app") {
				return nil
			}
		}
		return fmt.Errorf("%d requests, none a Slack message naming kustomization/my-app", len(sink.Requests()))
	})

	// Every kind each controller reconciled has its metrics series.
	reconciled := map[string][]string{
		"source-controller": {sourcev1.GitRepositoryKind, sourcev1.HelmRepositoryKind, sourcev1.HelmChartKind,
			sourcev1.OCIRepositoryKind, sourcev1.BucketKind},
		"kustomize-controller":        {kustomizev1.KustomizationKind},
		"helm-controller":             {helmv2.HelmReleaseKind},
		"image-automation-controller": {imagev1.ImageRepositoryKind, imagev1.ImagePolicyKind, imagev1.ImageUpdateAutomationKind},
		"notification-controller":     {notificationv1.ReceiverKind},
	}
	for _, p := range pods {
		kinds := reconciled[p.name()]
		if len(kinds) == 0 {
			t.Errorf("no kinds listed for %s", p.name())
		}
		eventually(t, time.Minute, p.name()+" metrics", func() error { return p.hasMetrics(kinds) })
	}
}

// appliedRevision checks the Kustomization applied commit rev and is
// healthy.
func appliedRevision(ctx context.Context, ks *kustomizev1.Kustomization, rev string) error {
	if err := readyStatus(ctx, ks); err != nil {
		return err
	}
	if got := ks.Status.LastAppliedRevision; got != "main@sha1:"+rev {
		return fmt.Errorf("last applied %q, want main@sha1:%s", got, rev)
	}
	return nil
}

// callReceiver POSTs to the Receiver's path through the webhook-receiver
// Service, as a Git host would.
func callReceiver(t *testing.T, path string) {
	t.Helper()
	resp, err := http.Post("http://"+serviceAddrs["webhook-receiver"]+path, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("receiver answered %s", resp.Status)
	}
}

// pushManifests pushes a one-file Flux artifact as ref.
func pushManifests(ctx context.Context, t *testing.T, ref string, auth authn.Authenticator) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("kind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushDir(ctx, r, dir, "v1@sha1:0123456789abcdef0123456789abcdef01234567", "https://example.com/manifests",
		oci.Options{Auth: auth, Insecure: true}); err != nil {
		t.Fatal(err)
	}
}

func opaque(name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
}

func createSecret(ctx context.Context, t *testing.T, s *corev1.Secret) {
	t.Helper()
	if err := env.Client.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// applyFile server-side applies the objects of a YAML file, each changed by edit first.
func applyFile(ctx context.Context, t *testing.T, path string, edit func(*unstructured.Unstructured)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	applyText(ctx, t, string(data), edit)
}

func applyText(ctx context.Context, t *testing.T, text string, edit func(*unstructured.Unstructured)) {
	t.Helper()
	objs, err := testenv.DecodeManifests(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		if edit != nil {
			edit(u)
		}
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("gotk-e2e"), client.ForceOwnership); err != nil {
			t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// seedDir is the seed guide's copy in the repository.
func seedDir(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "examples", "seed")
}

// treeFiles reads every file under dir as slash path → content.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func get(ctx context.Context, obj client.Object) error {
	return env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
}

func readyStatus(ctx context.Context, obj conditions.Setter) error {
	return testenv.ReadyStatus(ctx, env.Client, obj)
}

func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	return testenv.Eventually(t, timeout, what, fn)
}
