package migrate

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CRDResult is what Cluster did to one CRD.
type CRDResult struct {
	CRD string
	// Version is the storage version objects are now stored in.
	Version string
	// Objects counts the objects read; Rewritten those whose stored form
	// changed (the API server writes an object only when its encoding in
	// the storage version differs from what etcd holds).
	Objects, Rewritten int
	// StoredVersions is status.storedVersions before the migration.
	StoredVersions []string
}

// IsFluxGroup reports whether group is one of Flux's API groups.
func IsFluxGroup(group string) bool {
	for gk := range history {
		if gk.Group == group {
			return true
		}
	}
	return false
}

// Cluster migrates every Flux CRD in the cluster to the version t names
// for its kind: it makes that version the storage version (it must be
// served by the CRD), rewrites every object so etcd holds it in that
// version, then sets status.storedVersions to that version alone, which
// lets a CRD without the old versions be applied afterwards.
//
// d tells when a storage version switch took effect: the API server
// reloads a CRD's storage asynchronously, and an object rewritten before
// would still be stored in the old version.
func Cluster(ctx context.Context, c client.Client, d discovery.DiscoveryInterface, t Targets) ([]CRDResult, error) {
	var crds apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &crds); err != nil {
		return nil, fmt.Errorf("listing CRDs: %w", err)
	}
	sort.Slice(crds.Items, func(i, j int) bool { return crds.Items[i].Name < crds.Items[j].Name })
	var out []CRDResult
	for i := range crds.Items {
		crd := &crds.Items[i]
		if !IsFluxGroup(crd.Spec.Group) {
			continue
		}
		target, ok := t[GroupKind{crd.Spec.Group, crd.Spec.Names.Kind}]
		if !ok {
			continue // a Flux kind gotk does not know: left as it is
		}
		r, err := migrateCRD(ctx, c, d, crd, target)
		if err != nil {
			return out, fmt.Errorf("migrating %s: %w", crd.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func migrateCRD(ctx context.Context, c client.Client, d discovery.DiscoveryInterface, crd *apiextensionsv1.CustomResourceDefinition, target string) (CRDResult, error) {
	r := CRDResult{CRD: crd.Name, Version: target, StoredVersions: slices.Clone(crd.Status.StoredVersions)}
	if err := storeIn(ctx, c, d, crd, target); err != nil {
		return r, err
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(crd.Spec.Group + "/" + target)
	list.SetKind(crd.Spec.Names.ListKind)
	opts := []client.ListOption{client.Limit(500)}
	for {
		if err := c.List(ctx, list, opts...); err != nil {
			return r, fmt.Errorf("listing objects: %w", err)
		}
		for i := range list.Items {
			rewritten, err := rewrite(ctx, c, &list.Items[i])
			if err != nil {
				return r, err
			}
			r.Objects++
			if rewritten {
				r.Rewritten++
			}
		}
		if list.GetContinue() == "" {
			break
		}
		opts = []client.ListOption{client.Limit(500), client.Continue(list.GetContinue())}
	}
	if slices.Equal(crd.Status.StoredVersions, []string{target}) {
		return r, nil
	}
	return r, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: crd.Name}, fresh); err != nil {
			return err
		}
		fresh.Status.StoredVersions = []string{target}
		return c.Status().Update(ctx, fresh)
	})
}

// storeIn makes target the CRD's storage version; it must be served.
func storeIn(ctx context.Context, c client.Client, d discovery.DiscoveryInterface, crd *apiextensionsv1.CustomResourceDefinition, target string) error {
	idx := slices.IndexFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == target })
	if idx < 0 || !crd.Spec.Versions[idx].Served {
		return fmt.Errorf("the CRD does not serve %s, the version gotk stores %s in: upgrade Flux to 2.7 or later first, or apply gotk's CRD for it", target, crd.Spec.Names.Kind)
	}
	if crd.Spec.Versions[idx].Storage {
		return nil
	}
	before, err := StorageVersionHash(d, crd.Spec.Group+"/"+target, crd.Spec.Names.Plural)
	if err != nil {
		return err
	}
	for i := range crd.Spec.Versions {
		crd.Spec.Versions[i].Storage = i == idx
	}
	if err := c.Update(ctx, crd); err != nil {
		return fmt.Errorf("making %s the storage version: %w", target, err)
	}
	return WaitStorageSwitch(ctx, d, crd.Spec.Group+"/"+target, crd.Spec.Names.Plural, before)
}

// StorageVersionHash is the opaque storage version hash discovery shows
// for the resource in groupVersion.
func StorageVersionHash(d discovery.DiscoveryInterface, groupVersion, plural string) (string, error) {
	list, err := d.ServerResourcesForGroupVersion(groupVersion)
	if err != nil {
		return "", fmt.Errorf("discovering %s: %w", groupVersion, err)
	}
	for _, r := range list.APIResources {
		if r.Name == plural {
			return r.StorageVersionHash, nil
		}
	}
	return "", fmt.Errorf("%s does not list %s", groupVersion, plural)
}

// WaitStorageSwitch waits until the storage version hash of the resource
// differs from before: the API server then writes in the new version.
func WaitStorageSwitch(ctx context.Context, d discovery.DiscoveryInterface, groupVersion, plural, before string) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		h, err := StorageVersionHash(d, groupVersion, plural)
		last = err
		return err == nil && h != before, nil
	})
	if err != nil {
		return fmt.Errorf("%s %s: the API server did not switch the storage version within a minute (%v)", groupVersion, plural, last)
	}
	return nil
}

// rewrite writes obj back unchanged, so the API server re-encodes it in
// the storage version; it reports whether etcd's copy changed.
func rewrite(ctx context.Context, c client.Client, obj *unstructured.Unstructured) (bool, error) {
	before := obj.GetResourceVersion()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		err := c.Update(ctx, obj)
		if apierrors.IsConflict(err) {
			if gerr := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); gerr != nil {
				return gerr
			}
			before = obj.GetResourceVersion()
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return false, nil // deleted meanwhile: nothing left to migrate
	}
	if err != nil {
		return false, fmt.Errorf("rewriting %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return obj.GetResourceVersion() != before, nil
}
