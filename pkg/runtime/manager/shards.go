package manager

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// shardCache limits the cache of the controller's own kinds to its shard:
// --watch-label-selector selects the objects it reconciles, never what
// they refer to (sources, HelmCharts, Secrets), which stay visible
// whatever their labels, as in Flux.
func shardCache(opts *cache.Options, selector string, kinds []client.Object) error {
	if selector == "" {
		return nil
	}
	if len(kinds) == 0 {
		return fmt.Errorf("--watch-label-selector: the controller names no kinds to shard")
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return fmt.Errorf("--watch-label-selector: %w", err)
	}
	opts.ByObject = map[client.Object]cache.ByObject{}
	for _, k := range kinds {
		opts.ByObject[k] = cache.ByObject{Label: sel}
	}
	return nil
}

// allShards reads objects of the controller's own kinds in every shard
// (a dependsOn target may live in another shard). Get tries the cache
// first and asks the API server when the object is not in this shard;
// List of a sharded kind always asks the API server, so it takes only
// label and namespace options, not cache field indexes.
type allShards struct {
	cache, api client.Reader
	scheme     *runtime.Scheme
	sharded    map[schema.GroupVersionKind]bool
}

// newAllShards returns the cache itself when the controller is not sharded.
func newAllShards(c, api client.Reader, scheme *runtime.Scheme, selector string, kinds []client.Object) (client.Reader, error) {
	if selector == "" {
		return c, nil
	}
	r := &allShards{cache: c, api: api, scheme: scheme, sharded: map[schema.GroupVersionKind]bool{}}
	for _, k := range kinds {
		gvk, err := apiutil.GVKForObject(k, scheme)
		if err != nil {
			return nil, err
		}
		r.sharded[gvk] = true
	}
	return r, nil
}

// isSharded reports whether obj (or, for a list, its items) is of a kind
// the cache holds for this shard only.
func (r *allShards) isSharded(obj runtime.Object, list bool) bool {
	gvk, err := apiutil.GVKForObject(obj, r.scheme)
	if err != nil {
		return false
	}
	if list {
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	}
	return r.sharded[gvk]
}

// Get reads obj from the cache, or from the API server when it is of a
// sharded kind and not in this shard.
func (r *allShards) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.cache.Get(ctx, key, obj, opts...)
	if apierrors.IsNotFound(err) && r.isSharded(obj, false) {
		return r.api.Get(ctx, key, obj, opts...)
	}
	return err
}

// List lists a sharded kind from the API server, others from the cache.
func (r *allShards) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if r.isSharded(list, true) {
		return r.api.List(ctx, list, opts...)
	}
	return r.cache.List(ctx, list, opts...)
}
