package e2e

import (
	"context"
	"fmt"
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
// from a bootstrapped cluster: the state scenarios after the first share.
type seedFlow struct {
	git     *testserver.GitHTTP
	hookURL string
	ks      *kustomizev1.Kustomization
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

// TestSeedGitOpsFlow is the guide's §2.5/§3.1 flow on real processes:
// bootstrap a fleet repository, commit the seed's GitRepository +
// Kustomization to it, and sync the app repository as printed (it does
// not build), with only the HPA fixed (no namespace), then corrected;
// drift and deletion are undone, a file removed from Git is pruned and
// its revert brings it back. Every app commit is announced with a signed
// GitHub push webhook, and commit → applied latency is reported.
func TestSeedGitOpsFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: gitUser, Password: gitPassword}})

	// Bootstrap, as a user would: the CLI commits the components and sync
	// objects to the fleet repository and waits until they are synced.
	if err := git.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	out, err := gotk(ctx, "bootstrap", "git", "--url", git.URL("fleet"), "--branch", "main", "--path", "clusters/e2e",
		"--username", gitUser, "--password", gitPassword, "--timeout", "3m")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap:\n%s", out)

	// The app repository exactly as the guide prints it.
	if _, err := git.InitRepoFromDir(appRepo, filepath.Join(seedDir(t), "app-repo"), "main"); err != nil {
		t.Fatal(err)
	}
	createSecret(ctx, t, ns, "git-credentials", map[string]string{"username": gitUser, "password": gitPassword})
	createSecret(ctx, t, ns, "github-webhook", map[string]string{"token": hookToken})

	// The seed's objects, pointed at the test server, go to the fleet
	// repository; the cluster picks them up from there.
	seed := readSeedObjects(t, "gitrepository-kustomization.yaml")
	gitRepoObj := seed[sourcev1.GitRepositoryKind]
	if err := unstructuredSet(gitRepoObj, git.URL(appRepo), "spec", "url"); err != nil {
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
	apps := toYAML(t, gitRepoObj) + "---\n" + toYAML(t, seed[kustomizev1.KustomizationKind]) + "---\n" + receiver
	if _, err := git.CommitFiles("fleet", "main", map[string]string{"clusters/e2e/apps/my-app.yaml": apps}, "add my-app"); err != nil {
		t.Fatal(err)
	}
	if out, err := gotk(ctx, "reconcile", "kustomization", "flux-system", "--with-source", "--timeout", "2m"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("reconcile:\n%s", out)
	}

	recv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	eventually(t, time.Minute, "receiver ready", func() error { return readyStatus(ctx, recv) })
	s := &seedFlow{git: git, hookURL: receiverURL(recv.Status.WebhookPath),
		ks: &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}}

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
	printed := treeFiles(t, filepath.Join(seedDir(t), "app-repo"))
	corrected := treeFiles(t, filepath.Join(seedDir(t), "app-repo-corrected"))
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
	t.Logf("commit → applied through the GitHub webhook: %s", formatDurations(s.latencies))
}
