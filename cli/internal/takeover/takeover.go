// Package takeover moves a cluster that runs Flux 2.x to gotk without
// re-applying anything: it finds Flux's controllers, stops them, moves
// the objects of Flux's CRDs to the storage versions gotk serves (package
// migrate) and re-baselines what gotk's controllers compare differently
// from Flux's, so that gotk's install can replace the CRDs and start its
// controllers, which then adopt Flux's inventories and Helm releases.
package takeover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/migrate"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/helm/postrender"
)

// PartOfLabel marks every object of a Flux (and a gotk) install.
const PartOfLabel = "app.kubernetes.io/part-of"

// Flux is what runs of a Flux install.
type Flux struct {
	// Namespace of the install.
	Namespace string
	// Deployments are Flux's controllers (their images come from fluxcd).
	Deployments []appsv1.Deployment
}

// Names lists the controllers.
func (f *Flux) Names() []string {
	var out []string
	for _, d := range f.Deployments {
		out = append(out, d.Name)
	}
	return out
}

// isFluxImage reports whether image is one of Flux's controller images
// (ghcr.io/fluxcd/..., docker.io/fluxcd/..., or a mirror keeping the
// fluxcd path); gotk's images are not.
func isFluxImage(image string) bool {
	return strings.HasPrefix(image, "fluxcd/") || strings.Contains(image, "/fluxcd/")
}

// Detect returns Flux's controllers in namespace, or nil when none runs
// there: Deployments labelled part-of=flux whose containers run Flux's
// images (gotk's Deployments carry the same labels, not the images).
func Detect(ctx context.Context, c client.Client, namespace string) (*Flux, error) {
	var list appsv1.DeploymentList
	if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{PartOfLabel: "flux"}); err != nil {
		return nil, fmt.Errorf("looking for Flux's controllers: %w", err)
	}
	f := &Flux{Namespace: namespace}
	for _, d := range list.Items {
		if slices.ContainsFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return isFluxImage(c.Image) }) {
			f.Deployments = append(f.Deployments, d)
		}
	}
	if len(f.Deployments) == 0 {
		return nil, nil
	}
	return f, nil
}

// ErrFluxRunning is returned by Check when Flux runs and takeover was not asked for.
var ErrFluxRunning = errors.New("flux is running in this cluster")

// Check refuses to go on when Flux's controllers run in namespace and
// takeover is false, and says how to go on.
func Check(ctx context.Context, c client.Client, namespace string, takeover bool) (*Flux, error) {
	f, err := Detect(ctx, c, namespace)
	if err != nil || f == nil || takeover {
		return f, err
	}
	return f, fmt.Errorf("%w: controllers %s in namespace %s. Two sets of controllers must not reconcile the same objects: "+
		"rerun with --takeover to stop Flux's controllers, migrate its objects and start gotk's in their place "+
		"(nothing is re-applied, pruned or upgraded), or uninstall Flux first", ErrFluxRunning, strings.Join(f.Names(), ", "), namespace)
}

// Report is what Prepare did.
type Report struct {
	// Stopped are the Flux controllers removed.
	Stopped []string
	// Migrated is what migrate.Cluster did per CRD.
	Migrated []migrate.CRDResult
	// Rebaselined counts the HelmReleases given gotk's digests.
	Rebaselined int
	// StopTime and MigrateTime are how long stopping Flux and migrating took.
	StopTime, MigrateTime time.Duration
}

// Prepare stops Flux's controllers (scale to zero, wait until their pods
// are gone, then delete the Deployments gotk's install recreates), moves
// every Flux object to the storage version gotk serves and trims the
// CRDs' status.storedVersions, and re-baselines the HelmReleases.
// Afterwards gotk's install can replace the CRDs.
func Prepare(ctx context.Context, c client.Client, d discovery.DiscoveryInterface, f *Flux, timeout time.Duration, log io.Writer) (Report, error) {
	var r Report
	start := time.Now()
	// All are scaled to zero first, so they stop in parallel.
	for i := range f.Deployments {
		dep := &f.Deployments[i]
		fmt.Fprintf(log, "► stopping Flux's %s\n", dep.Name)
		if err := scaleToZero(ctx, c, dep); err != nil {
			return r, err
		}
	}
	for i := range f.Deployments {
		dep := &f.Deployments[i]
		if err := remove(ctx, c, dep, timeout); err != nil {
			return r, err
		}
		r.Stopped = append(r.Stopped, dep.Name)
	}
	r.StopTime = time.Since(start)
	start = time.Now()
	var err error
	if r.Migrated, err = migrate.Cluster(ctx, c, d, migrate.Latest()); err != nil {
		return r, err
	}
	for _, m := range r.Migrated {
		fmt.Fprintf(log, "✔ %s: %d objects stored in %s (%d rewritten)\n", m.CRD, m.Objects, m.Version, m.Rewritten)
	}
	if r.Rebaselined, err = rebaselineHelmReleases(ctx, c); err != nil {
		return r, err
	}
	r.MigrateTime = time.Since(start)
	return r, nil
}

// scaleToZero stops a Flux Deployment's pods.
func scaleToZero(ctx context.Context, c client.Client, dep *appsv1.Deployment) error {
	patch := client.MergeFrom(dep.DeepCopy())
	zero := int32(0)
	dep.Spec.Replicas = &zero
	if err := c.Patch(ctx, dep, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("scaling %s to zero: %w", dep.Name, err)
	}
	return nil
}

// remove waits until no pod of a scaled-down Flux Deployment runs and
// deletes it: gotk's install creates its own under the same name.
func remove(ctx context.Context, c client.Client, dep *appsv1.Deployment, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cur := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(dep), cur); err != nil {
			return apierrors.IsNotFound(err), nil
		}
		return cur.Status.ObservedGeneration >= cur.Generation && cur.Status.Replicas == 0, nil
	})
	if err != nil {
		return fmt.Errorf("Flux's %s still has pods after %s: %w", dep.Name, timeout, err)
	}
	if err := c.Delete(ctx, dep); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Flux's %s: %w", dep.Name, err)
	}
	return nil
}

// rebaselineHelmReleases records gotk's digest of the post-renderers and
// common metadata on every HelmRelease Flux had reconciled at its current
// generation: Flux digests them in its own format, and a digest that
// differs would read as changed settings and upgrade the release.
func rebaselineHelmReleases(ctx context.Context, c client.Client) (int, error) {
	var list helmv2.HelmReleaseList
	if err := c.List(ctx, &list); err != nil {
		if apierrors.IsNotFound(err) || apimeta.IsNoMatchError(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("listing HelmReleases: %w", err)
	}
	n := 0
	for i := range list.Items {
		hr := &list.Items[i]
		if hr.Status.ObservedGeneration != hr.Generation || !conditions.IsTrue(hr, meta.ReadyCondition) {
			continue // Flux had not applied this spec: gotk's first reconcile decides
		}
		want := postrender.Digest(hr)
		if hr.Status.ObservedPostRenderersDigest == want && hr.Status.ObservedCommonMetadataDigest == want {
			continue
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := &helmv2.HelmRelease{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(hr), cur); err != nil {
				return err
			}
			cur.Status.ObservedPostRenderersDigest = want
			cur.Status.ObservedCommonMetadataDigest = want
			return c.Status().Update(ctx, cur)
		})
		if err != nil {
			return n, fmt.Errorf("HelmRelease %s/%s: %w", hr.Namespace, hr.Name, err)
		}
		n++
	}
	return n, nil
}
