package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	fluxcontroller "github.com/fluxcd/pkg/runtime/controller"
	"github.com/fluxcd/pkg/runtime/events"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/metricstest"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// TestMetricsSourceKinds checks that a reconcile of every source kind
// exports Flux's reconcile metrics with the kind label, that suspension
// shows in gotk_suspend_status and that a deleted object drops its series.
func TestMetricsSourceKinds(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	startOCIHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	hour := metav1.Duration{Duration: time.Hour}

	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := git.CommitFiles("app", "master", map[string]string{"a.yaml": "a"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	pushArtifact(t, reg.Host()+"/org/app:v1", map[string]string{"a.yaml": "a"}, "main@sha1:1111", false, nil)
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	g.Expect(charts.AddChart("podinfo", "6.0.0", nil)).To(Succeed())
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: "AKID", SecretKey: "s3cret"})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	g.Expect(s3.PutObject("manifests", "a.yaml", "a")).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: ns},
		Data: map[string][]byte{"accesskey": []byte("AKID"), "secretkey": []byte("s3cret")}})).To(Succeed())

	objs := []struct {
		kind string
		obj  client.Object
	}{
		{sourcev1.GitRepositoryKind, newGitRepository(ns, "git", git.URL("app"), nil)},
		{sourcev1.OCIRepositoryKind, newOCIRepository(ns, "oci", "oci://"+reg.Host()+"/org/app", &sourcev1.OCIRepositoryRef{Tag: "v1"})},
		{sourcev1.HelmRepositoryKind, &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
			Spec: sourcev1.HelmRepositorySpec{URL: charts.URL(), Interval: hour}}},
		{sourcev1.HelmChartKind, &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.x", Interval: hour,
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}}}},
		{sourcev1.BucketKind, &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "bucket", Namespace: ns},
			Spec: sourcev1.BucketSpec{BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true,
				SecretRef: &meta.LocalObjectReference{Name: "s3"}, Interval: hour}}},
	}
	for _, o := range objs {
		g.Expect(env.Client.Create(ctx, o.obj)).To(Succeed())
	}
	for _, o := range objs {
		metricstest.ExpectMeasured(g, o.kind, ns, o.obj.GetName(), metav1.ConditionTrue, false)
	}

	// Suspending is a spec change: its reconcile reports the suspension.
	repo := objs[0].obj.(*sourcev1.GitRepository)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(repo), repo)).To(Succeed())
	repo.Spec.Suspend = true
	g.Expect(env.Client.Update(ctx, repo)).To(Succeed())
	metricstest.ExpectMeasured(g, sourcev1.GitRepositoryKind, ns, repo.Name, metav1.ConditionTrue, true)

	for _, o := range objs {
		g.Expect(env.Client.Delete(ctx, o.obj)).To(Succeed())
	}
	for _, o := range objs {
		metricstest.ExpectForgotten(g, o.kind, ns, o.obj.GetName())
	}
}

// TestMetricsRetryDelay checks that --min-retry-delay reaches the
// GitRepository controller: a repository on an unreachable URL is retried
// no sooner than the delay.
func TestMetricsRetryDelay(t *testing.T) {
	g := NewWithT(t)
	h := startHarness(t)
	ns := env.NewNamespace(t)
	const minDelay = 2 * time.Second
	metricstest.StartShard(t, env.Config, env.Scheme, "retry", func(mgr ctrl.Manager) error {
		rec, err := events.NewRecorder(ctrl.Log, "", "source-controller", events.WithManager(mgr))
		if err != nil {
			return err
		}
		_, err = SetupGitRepository(context.Background(), mgr, rec, h.storage, GitRepositoryOptions{
			ControllerName: "source-controller", CacheDir: t.TempDir(),
			ControllerOptions: reconcile.ControllerOptions{Concurrent: 1,
				RateLimiter: fluxcontroller.RateLimiterOptions{MinRetryDelay: minDelay, MaxRetryDelay: time.Minute}},
		})
		return err
	})
	ports, err := testenv.FreePorts(1)
	g.Expect(err).NotTo(HaveOccurred())
	obj := newGitRepository(ns, "unreachable", fmt.Sprintf("http://127.0.0.1:%d/app.git", ports[0]), nil)
	obj.Labels = map[string]string{metricstest.ShardLabel: "retry"}
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	metricstest.ExpectBackoff(g, sourcev1.GitRepositoryKind, ns, obj.Name, minDelay)
	metricstest.ExpectMeasured(g, sourcev1.GitRepositoryKind, ns, obj.Name, metav1.ConditionFalse, false)
}
