package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

const (
	gitUser, gitPassword = "git", "e2e-token"
	appRepo              = "myorg/k8s-manifests"
	hookToken            = "e2e-webhook-token"
)

// seedFlow is the guide's app synced by its GitRepository + Kustomization
// from a bootstrapped cluster: the state the guide's phases share.
type seedFlow struct {
	git     *testserver.GitHTTP
	reg     *testserver.Registry
	sink    *testserver.WebhookSink
	hookURL string
	ks      *kustomizev1.Kustomization
	// image is the app's image repository on the test registry.
	image string
	// latencies are commit → applied times through the GitHub webhook.
	latencies []time.Duration
}

// commitAndSync commits files (nil content deletes) to the app repository,
// sends the signed push webhook and waits until the Kustomization reports
// the commit with want's outcome; it records the commit → result latency.
func (s *seedFlow) commitAndSync(ctx context.Context, t *testing.T, message string, files map[string]string, want func() error) string {
	t.Helper()
	var deletes []string
	writes := map[string]string{}
	for p, c := range files {
		if c == "" {
			deletes = append(deletes, p)
		} else {
			writes[p] = c
		}
	}
	start := time.Now()
	var rev string
	var err error
	if len(writes) > 0 {
		rev, err = s.git.CommitFiles(appRepo, "main", writes, message)
	}
	if err == nil && len(deletes) > 0 {
		rev, err = s.git.DeleteFiles(appRepo, "main", deletes, message)
	}
	if err != nil {
		t.Fatal(err)
	}
	githubPush(t, s.hookURL, hookToken)
	eventually(t, 2*time.Minute, message, func() error {
		if err := get(ctx, s.ks); err != nil {
			return err
		}
		if got := s.ks.Status.LastAttemptedRevision; got != "main@sha1:"+rev {
			src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
			_ = get(ctx, src)
			return fmt.Errorf("last attempted revision %q, want main@sha1:%s (source: %s, handled request %q of %q)", got, rev,
				conditions.GetMessage(src, meta.ReadyCondition), src.Status.LastHandledReconcileAt, src.GetAnnotations()[meta.ReconcileRequestAnnotation])
		}
		return want()
	})
	s.latencies = append(s.latencies, time.Since(start))
	return rev
}

// TestSeedGuide is the seed guide on real processes, phase by phase:
// bootstrap a fleet repository and commit the guide's objects to it
// (§2.5, §3.4), sync the app repository (§3.1), let image automation bump
// the tag (§3.3), release a Helm chart, and check what reached Slack.
func TestSeedGuide(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s := setUpGuide(ctx, t)
	for _, phase := range []struct {
		name string
		run  func(context.Context, *testing.T)
	}{
		{"sync the app", s.syncTheApp},
		{"image automation", s.imageAutomation},
		{"sops secrets", s.sopsSecrets},
		{"helm release", s.helmRelease},
		{"alerts", s.alerts},
	} {
		if !t.Run(phase.name, func(t *testing.T) { phase.run(ctx, t) }) {
			return
		}
	}
	t.Logf("commit → applied through the GitHub webhook: %s", formatDurations(s.latencies))
}

// setUpGuide bootstraps a fleet repository as a user would (the CLI
// commits the components and sync objects and waits until they are
// synced), then commits the guide's GitRepository + Kustomization, a
// GitHub Receiver and the Slack alert to it; the app repository is the
// guide's as printed, its image pointed at the test registry.
func setUpGuide(ctx context.Context, t *testing.T) *seedFlow {
	s := &seedFlow{
		git:  testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: gitUser, Password: gitPassword}}),
		reg:  testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: regUser, Password: regPassword}}),
		sink: testserver.NewWebhookSinkForTest(t),
		ks:   &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}},
	}
	s.image = s.reg.Host() + "/myorg/my-app"
	if err := s.git.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	out, err := gotk(ctx, "bootstrap", "git", "--url", s.git.URL("fleet"), "--branch", "main", "--path", "clusters/e2e",
		"--username", gitUser, "--password", gitPassword, "--timeout", "3m")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap:\n%s", out)

	app := treeFiles(t, filepath.Join(seedDir(t), "app-repo"))
	if _, err := s.git.CommitFiles(appRepo, "main", s.withImage(app), "the guide's app repository"); err != nil {
		t.Fatal(err)
	}
	createSecret(ctx, t, ns, "git-credentials", map[string]string{"username": gitUser, "password": gitPassword})
	createSecret(ctx, t, ns, "github-webhook", map[string]string{"token": hookToken})
	createSecret(ctx, t, ns, "slack-webhook", map[string]string{"address": s.sink.URL()})

	seed := readSeedObjects(t, "gitrepository-kustomization.yaml")
	gitRepoObj := seed[sourcev1.GitRepositoryKind]
	if err := unstructuredSet(gitRepoObj, s.git.URL(appRepo), "spec", "url"); err != nil {
		t.Fatal(err)
	}
	receiver := `apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: my-app
  namespace: flux-system
spec:
  type: github
  events: ["push"]
  secretRef:
    name: github-webhook
  resources:
    - kind: GitRepository
      name: my-app
`
	notification, err := os.ReadFile(filepath.Join(seedDir(t), "cluster", "notification.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.commitToFleet(ctx, t, map[string]string{
		"clusters/e2e/apps/my-app.yaml":       toYAML(t, gitRepoObj) + "---\n" + toYAML(t, seed[kustomizev1.KustomizationKind]) + "---\n" + receiver,
		"clusters/e2e/apps/notification.yaml": string(notification),
	})
	recv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	eventually(t, time.Minute, "receiver ready", func() error { return readyStatus(ctx, recv) })
	s.hookURL = receiverURL(recv.Status.WebhookPath)
	return s
}

// withImage points the app's image at the test registry.
func (s *seedFlow) withImage(files map[string]string) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		out[p] = strings.ReplaceAll(c, "ghcr.io/myorg/my-app", s.image)
	}
	return out
}

// commitToFleet commits files to the fleet repository and has the cluster
// sync them now, as `gotk reconcile kustomization flux-system --with-source`.
func (s *seedFlow) commitToFleet(ctx context.Context, t *testing.T, files map[string]string) {
	t.Helper()
	if _, err := s.git.CommitFiles("fleet", "main", files, "add apps"); err != nil {
		t.Fatal(err)
	}
	out, err := gotk(ctx, "reconcile", "kustomization", "flux-system", "--with-source", "--timeout", "2m")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reconcile:\n%s", out)
}

// syncTheApp: the app repository as printed fails to build naming the
// patch file; with only the HPA fixed the apply names the missing
// namespace; corrected, it converges. Drift and deletion are undone, a
// file removed from Git is pruned and its revert brings it back.
func (s *seedFlow) syncTheApp(ctx context.Context, t *testing.T) {
	production := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "production"}}
	// 1. As printed: the build fails naming the patch file; nothing applied.
	eventually(t, 2*time.Minute, "app-repo as printed fails to build", func() error {
		if err := get(ctx, s.ks); err != nil {
			return err
		}
		msg := conditions.GetMessage(s.ks, meta.ReadyCondition)
		if conditions.GetReason(s.ks, meta.ReadyCondition) != kustomizev1.BuildFailedReason || !strings.Contains(msg, "hpa.yaml") {
			return fmt.Errorf("Ready %s: %s", conditions.GetReason(s.ks, meta.ReadyCondition), msg)
		}
		return nil
	})
	t.Logf("as printed: %s", conditions.GetMessage(s.ks, meta.ReadyCondition))
	if err := absent(ctx, production); err != nil {
		t.Fatalf("a failed build applied something: %v", err)
	}

	// 2. Only the HPA fixed: the apply names the missing namespace.
	overlay := "overlays/production/"
	printed := s.withImage(treeFiles(t, filepath.Join(seedDir(t), "app-repo")))
	corrected := s.withImage(treeFiles(t, filepath.Join(seedDir(t), "app-repo-corrected")))
	hpaFixed := strings.Replace(printed[overlay+"kustomization.yaml"], "  - hpa.yaml\n", "", 1)
	hpaFixed = strings.Replace(hpaFixed, "  - ../../base\n", "  - ../../base\n  - hpa.yaml\n", 1)
	s.commitAndSync(ctx, t, "fix: hpa is a resource", map[string]string{overlay + "kustomization.yaml": hpaFixed}, func() error {
		msg := conditions.GetMessage(s.ks, meta.ReadyCondition)
		if conditions.IsReady(s.ks) || !strings.Contains(msg, "production") || !strings.Contains(strings.ToLower(msg), "namespace") {
			return fmt.Errorf("Ready %s: %s", conditions.GetReason(s.ks, meta.ReadyCondition), msg)
		}
		return nil
	})
	t.Logf("hpa fixed: %s", conditions.GetMessage(s.ks, meta.ReadyCondition))
	if err := absent(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}); err != nil {
		t.Fatalf("a failed apply left objects: %v", err)
	}

	// 3. Corrected: converges, healthy, 3 replicas available.
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}
	s.commitAndSync(ctx, t, "fix: create the production namespace", corrected, func() error {
		if err := readyStatus(ctx, s.ks); err != nil {
			return err
		}
		if !conditions.IsTrue(s.ks, kustomizev1.HealthyCondition) {
			return fmt.Errorf("not healthy: %s", conditions.GetMessage(s.ks, kustomizev1.HealthyCondition))
		}
		return nil
	})
	if err := get(ctx, dep); err != nil || dep.Status.AvailableReplicas != 3 {
		t.Fatalf("deployment: %v, %d replicas available", err, dep.Status.AvailableReplicas)
	}
	for _, obj := range []client.Object{production, svc, hpa} {
		if err := get(ctx, obj); err != nil {
			t.Fatalf("%T not applied: %v", obj, err)
		}
	}

	// Drift: a manual scale is undone, a deleted Service comes back.
	scale := dep.DeepCopy()
	scale.Spec.Replicas = ptrInt32(5)
	if err := env.Client.Update(ctx, scale, client.FieldOwner("kubectl-scale")); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, time.Minute, "scale drift undone", func() error {
		if err := get(ctx, dep); err != nil {
			return err
		}
		if *dep.Spec.Replicas != 3 {
			return fmt.Errorf("replicas %d", *dep.Spec.Replicas)
		}
		return nil
	})
	t.Logf("drift (replicas 3 → 5) undone in %s", took.Round(time.Millisecond))
	oldUID := svc.UID
	if err := env.Client.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	took = eventually(t, time.Minute, "deleted service restored", func() error {
		if err := get(ctx, svc); err != nil {
			return err
		}
		if svc.UID == oldUID {
			return fmt.Errorf("still the old Service")
		}
		return nil
	})
	t.Logf("deleted Service restored in %s", took.Round(time.Millisecond))

	// Removing hpa.yaml from Git prunes the HPA; reverting brings it back.
	withoutHPA := strings.Replace(corrected[overlay+"kustomization.yaml"], "  - hpa.yaml\n", "", 1)
	s.commitAndSync(ctx, t, "remove the hpa", map[string]string{overlay + "kustomization.yaml": withoutHPA, overlay + "hpa.yaml": ""}, func() error {
		if err := readyStatus(ctx, s.ks); err != nil {
			return err
		}
		return absent(ctx, hpa)
	})
	s.commitAndSync(ctx, t, `Revert "remove the hpa"`, map[string]string{overlay + "kustomization.yaml": corrected[overlay+"kustomization.yaml"],
		overlay + "hpa.yaml": corrected[overlay+"hpa.yaml"]}, func() error {
		if err := readyStatus(ctx, s.ks); err != nil {
			return err
		}
		return get(ctx, hpa)
	})
	if err := get(ctx, dep); err != nil || dep.Status.AvailableReplicas != 3 {
		t.Fatalf("after the revert: %v, %d replicas available", err, dep.Status.AvailableReplicas)
	}
}
