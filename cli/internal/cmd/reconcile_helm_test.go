package cmd

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fluxcd/pkg/apis/meta"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// readyRelease stands in for helm-controller's release logic: every
// reconcile succeeds, so the CLI can be driven through the real skeleton.
type readyRelease struct{}

func (readyRelease) Reconcile(context.Context, *helmv2.HelmRelease) (string, string, error) {
	return "InstallSucceeded", "release installed", nil
}

func (readyRelease) Finalize(context.Context, *helmv2.HelmRelease) error { return nil }

// TestReconcileHelmReleaseForceReset: --force and --reset stamp
// helm-controller's forceAt and resetAt with the reconcile request's
// token (how the controller tells those requests apart: tested in
// helm-controller); other kinds refuse them.
func TestReconcileHelmReleaseForceReset(t *testing.T) {
	mgr := newTestManager(t)
	standIn[*helmv2.HelmRelease](t, mgr, readyRelease{}, func() *helmv2.HelmRelease { return &helmv2.HelmRelease{} })
	runManager(t, mgr)
	ctx := context.Background()

	ns := env.NewNamespace(t)
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "OCIRepository", Name: "web"}}}
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	for _, tc := range []struct {
		args  []string
		force bool
		reset bool
	}{
		{args: nil},
		{args: []string{"--force"}, force: true},
		{args: []string{"--reset"}, reset: true},
		{args: []string{"--force", "--reset"}, force: true, reset: true},
	} {
		out, err := run(t, append([]string{"-n", ns, "reconcile", "helmrelease", "web"}, tc.args...)...)
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr)).To(Succeed())
		token := hr.Annotations[meta.ReconcileRequestAnnotation]
		g.Expect(token).NotTo(BeEmpty())
		g.Expect(hr.Annotations[helmv2.ForceRequestAnnotation] == token).To(Equal(tc.force), "%v: %v", tc.args, hr.Annotations)
		g.Expect(hr.Annotations[helmv2.ResetRequestAnnotation] == token).To(Equal(tc.reset), "%v: %v", tc.args, hr.Annotations)
	}
	_, err := run(t, "-n", ns, "reconcile", "kustomization", "web", "--force")
	g.Expect(err).To(MatchError(ContainSubstring("--force and --reset are for HelmReleases, not kustomization")))
}
