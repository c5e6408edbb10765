package ui

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"gotk.dev/cli/internal/catalog"
)

// startCache decides what the identity may watch (all namespaces, or
// Options.Namespace when it may not list cluster-wide), starts one shared
// informer per allowed kind and tells the broker of every change.
func (s *Server) startCache(ctx context.Context, scheme *runtime.Scheme) error {
	ks, _ := catalog.Lookup("kustomization")
	clusterWide, err := s.allowed(ctx, authorizationv1.ResourceAttributes{
		Verb: "list", Group: ks.GVK.Group, Resource: ks.Resource()})
	if err != nil {
		return err
	}
	if !clusterWide {
		if s.opts.Namespace == "" {
			return fmt.Errorf("this identity may not list Flux objects in all namespaces: name one with --namespace")
		}
		s.scope = s.opts.Namespace
	}
	for _, k := range catalog.All {
		ok, err := s.mayWatch(ctx, k.GVK.Group, k.Resource())
		if err != nil {
			return err
		}
		if ok {
			s.kinds = append(s.kinds, k)
		}
	}
	if s.events, err = s.mayWatch(ctx, "", "events"); err != nil {
		return err
	}
	opts := cache.Options{Scheme: scheme,
		// managedFields are most of an object's bytes and no page shows them.
		DefaultTransform: cache.TransformStripManagedFields(),
		// Only warnings are kept: the overview shows them; an object page reads its own events.
		ByObject: map[client.Object]cache.ByObject{&corev1.Event{}: {Field: fields.OneTermEqualSelector("type", corev1.EventTypeWarning)}}}
	if s.scope != "" {
		opts.DefaultNamespaces = map[string]cache.Config{s.scope: {}}
	}
	c, err := cache.New(s.opts.Config, opts)
	if err != nil {
		return err
	}
	var watched []client.Object
	for _, k := range s.kinds {
		watched = append(watched, k.New())
	}
	if s.events {
		watched = append(watched, &corev1.Event{})
	}
	s.stores = map[string]toolscache.Indexer{}
	for _, obj := range watched {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		// A cache of all namespaces hands out client-go's informer, whose
		// indexer has the objects; a namespaced one a wrapper without.
		if si, ok := inf.(interface{ GetIndexer() toolscache.Indexer }); ok {
			if gvk, err := apiutil.GVKForObject(obj, scheme); err == nil {
				s.stores[gvk.Kind] = si.GetIndexer()
			}
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { s.live.notify() },
			UpdateFunc: func(any, any) { s.live.notify() },
			DeleteFunc: func(any) { s.live.notify() },
		}); err != nil {
			return err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("the informer cache did not sync")
	}
	s.reader = c
	return nil
}

// mayWatch reports whether the identity may list and watch a resource in
// the UI's scope.
func (s *Server) mayWatch(ctx context.Context, group, resource string) (bool, error) {
	for _, verb := range []string{"list", "watch"} {
		ok, err := s.allowed(ctx, authorizationv1.ResourceAttributes{
			Verb: verb, Group: group, Resource: resource, Namespace: s.scope})
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// allowed asks the API server whether the request's identity may do what attrs say.
func (s *Server) allowed(ctx context.Context, attrs authorizationv1.ResourceAttributes) (bool, error) {
	return allowedFor(ctx, s.client(ctx), attrs)
}

// allowedFor asks by a SelfSubjectAccessReview made with c.
func allowedFor(ctx context.Context, c client.Client, attrs authorizationv1.ResourceAttributes) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}}
	if err := c.Create(ctx, review); err != nil {
		return false, fmt.Errorf("asking the API server what this identity may do: %w", err)
	}
	return review.Status.Allowed, nil
}
