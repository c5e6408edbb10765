package ui

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxHealthChecks bounds the API reads one object page makes for its
// inventory; entries beyond it show no health.
const maxHealthChecks = 300

// inventoryHealth reads each inventory object from the API server and
// computes its kstatus (Current, InProgress, Failed, …; NotFound when it
// is gone), a few reads at a time.
func (s *Server) inventoryHealth(ctx context.Context, items []item) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range items[:min(len(items), maxHealthChecks)] {
		wg.Add(1)
		sem <- struct{}{}
		go func(it *item) {
			defer func() { <-sem; wg.Done() }()
			it.Health, it.HealthMessage = s.health(ctx, it)
		}(&items[i])
	}
	wg.Wait()
}

func (s *Server) health(ctx context.Context, it *item) (string, string) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: it.Group, Version: it.Version, Kind: it.Kind})
	err := s.client(ctx).Get(ctx, client.ObjectKey{Namespace: it.Namespace, Name: it.Name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return status.NotFoundStatus.String(), "not found in the cluster"
	case err != nil:
		return status.UnknownStatus.String(), err.Error()
	}
	res, err := status.Compute(u)
	if err != nil {
		return status.UnknownStatus.String(), err.Error()
	}
	return res.Status.String(), res.Message
}
