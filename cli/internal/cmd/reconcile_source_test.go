package cmd

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/fluxcd/pkg/apis/meta"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/runtime/predicates"
	"gotk.dev/pkg/runtime/reconcile"
)

// readyOf stands in for a controller's logic: every reconcile succeeds,
// so the CLI is driven through the real skeleton.
type readyOf[T reconcile.Object] struct{}

func (readyOf[T]) Reconcile(context.Context, T) (string, string, error) {
	return meta.SucceededReason, "reconciled", nil
}

func (readyOf[T]) Finalize(context.Context, T) error { return nil }

// newTestManager makes a manager for stand-in controllers; runManager
// starts it until the test ends.
func newTestManager(t *testing.T) ctrl.Manager {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

func runManager(t *testing.T, mgr ctrl.Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// standIn runs the real skeleton for kind T on mgr with kind's logic in
// place of a controller's, so the CLI is driven through it.
func standIn[T reconcile.Object](t *testing.T, mgr ctrl.Manager, kind reconcile.Kind[T], newObj func() T) {
	t.Helper()
	r := &reconcile.Reconciler[T]{Client: mgr.GetClient(), ControllerName: "test", Kind: kind, NewObject: newObj}
	// Several tests of the package run managers for the same kinds, and
	// controller names are unique per process unless told otherwise.
	if err := ctrl.NewControllerManagedBy(mgr).For(newObj()).
		WithOptions(controller.Options{SkipNameValidation: ptr.To(true)}).
		WithEventFilter(predicates.GenerationOrRequest()).Complete(r); err != nil {
		t.Fatal(err)
	}
}

// startReady runs the skeleton with readyOf for kind T.
func startReady[T reconcile.Object](t *testing.T, mgr ctrl.Manager, newObj func() T) {
	t.Helper()
	standIn[T](t, mgr, readyOf[T]{}, newObj)
}

// TestReconcileKustomizationWithExternalArtifactSource: --with-source on
// a Kustomization whose source is an ExternalArtifact reconciles the
// ArtifactGenerator that produces it (the ExternalArtifact itself has no
// reconciler); an ExternalArtifact produced elsewhere is skipped with a
// note, and a missing one is a clear error.
func TestReconcileKustomizationWithExternalArtifactSource(t *testing.T) {
	mgr := newTestManager(t)
	startReady(t, mgr, func() *kustomizev1.Kustomization { return &kustomizev1.Kustomization{} })
	startReady(t, mgr, func() *sourceextv1beta1.ArtifactGenerator { return &sourceextv1beta1.ArtifactGenerator{} })
	runManager(t, mgr)
	ctx := context.Background()

	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "gen", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			Sources: []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "repo"}},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "app",
				Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/**", To: "@artifact/"}}}}}}
	g.Expect(env.Client.Create(ctx, ag)).To(Succeed())
	for name, ref := range map[string]*meta.NamespacedObjectKindReference{
		"app":    {APIVersion: sourceextv1beta1.GroupVersion.String(), Kind: sourceextv1beta1.ArtifactGeneratorKind, Name: "gen"},
		"orphan": nil,
	} {
		g.Expect(env.Client.Create(ctx, &sourcev1.ExternalArtifact{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.ExternalArtifactSpec{SourceRef: ref}})).To(Succeed())
	}
	for _, name := range []string{"app", "orphan", "missing"} {
		g.Expect(env.Client.Create(ctx, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Prune: true,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.ExternalArtifactKind, Name: name}}})).To(Succeed())
	}

	out, err := run(t, "-n", ns, "reconcile", "ks", "app", "--with-source")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("annotating artifact generator " + ns + "/gen"))
	g.Expect(out).To(ContainSubstring("✔ artifact generator reconciliation completed"))
	g.Expect(out).To(ContainSubstring("✔ kustomization reconciliation completed"))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
	g.Expect(ag.Status.LastHandledReconcileAt).NotTo(BeEmpty())
	g.Expect(ag.Status.LastHandledReconcileAt).To(Equal(ag.Annotations[meta.ReconcileRequestAnnotation]))
	ea := &sourcev1.ExternalArtifact{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, ea)).To(Succeed())
	g.Expect(ea.Annotations).NotTo(HaveKey(meta.ReconcileRequestAnnotation))

	out, err = run(t, "-n", ns, "reconcile", "ks", "orphan", "--with-source")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("skipping the source: ExternalArtifact " + ns + "/orphan is not produced by an ArtifactGenerator"))
	g.Expect(out).To(ContainSubstring("✔ kustomization reconciliation completed"))

	_, err = run(t, "-n", ns, "reconcile", "ks", "missing", "--with-source")
	g.Expect(err).To(MatchError(ContainSubstring("source ExternalArtifact " + ns + "/missing: ")))
}

// TestReconcileHelmReleaseWithSource: --with-source on a HelmRelease
// reconciles its chartRef source, or the HelmChart the controller made
// for spec.chart; before that HelmChart is known the source is skipped
// with a note.
func TestReconcileHelmReleaseWithSource(t *testing.T) {
	mgr := newTestManager(t)
	startReady(t, mgr, func() *helmv2.HelmRelease { return &helmv2.HelmRelease{} })
	startReady(t, mgr, func() *sourcev1.OCIRepository { return &sourcev1.OCIRepository{} })
	startReady(t, mgr, func() *sourcev1.HelmChart { return &sourcev1.HelmChart{} })
	runManager(t, mgr)
	ctx := context.Background()

	g := NewWithT(t)
	ns := env.NewNamespace(t)
	oci := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://registry.example/charts/app", Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, oci)).To(Succeed())
	chart := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: ns + "-tmpl", Namespace: ns},
		Spec: sourcev1.HelmChartSpec{Chart: "app", Interval: metav1.Duration{Duration: time.Hour},
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "repo"}}}
	g.Expect(env.Client.Create(ctx, chart)).To(Succeed())
	withRef := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "ref", Namespace: ns},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "charts"}}}
	tmpl := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "tmpl", Namespace: ns},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "app",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "repo"}}}}}
	for _, hr := range []*helmv2.HelmRelease{withRef, tmpl} {
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	}

	out, err := run(t, "-n", ns, "reconcile", "hr", "ref", "--with-source")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("annotating source oci " + ns + "/charts"))
	g.Expect(out).To(ContainSubstring("✔ helmrelease reconciliation completed"))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(oci), oci)).To(Succeed())
	g.Expect(oci.Status.LastHandledReconcileAt).To(Equal(oci.Annotations[meta.ReconcileRequestAnnotation]))

	// The HelmChart is not known until the controller records it.
	out, err = run(t, "-n", ns, "reconcile", "hr", "tmpl", "--with-source")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("skipping the source: helmrelease " + ns + "/tmpl has no source known yet"))

	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tmpl), tmpl); err != nil {
			return err
		}
		tmpl.Status.HelmChart = ns + "/" + chart.Name
		return env.Client.Status().Update(ctx, tmpl)
	})).To(Succeed())
	out, err = run(t, "-n", ns, "reconcile", "hr", "tmpl", "--with-source")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("annotating source chart " + ns + "/" + chart.Name))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(chart), chart)).To(Succeed())
	g.Expect(chart.Status.LastHandledReconcileAt).To(Equal(chart.Annotations[meta.ReconcileRequestAnnotation]))
}
