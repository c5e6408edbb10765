package action

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"gotk.dev/pkg/runtime/reconcile"
)

// Poll intervals of the readiness wait: the first checks come quickly
// (most objects are ready within a second or two on a healthy cluster),
// later ones slow down gently to spare the API server.
const (
	waitFirstPoll = 50 * time.Millisecond
	waitPollStep  = 50 * time.Millisecond
	waitMaxPoll   = 2 * time.Second
)

// kstatusClient is Helm's kube client with the readiness wait replaced:
// objects are ready when kstatus computes them Current, polled with a
// short, growing interval instead of Helm's fixed 2s. Helm still decides
// what a failed wait means (the release is marked failed).
type kstatusClient struct {
	*kube.Client
	dynamic dynamic.Interface
}

// Wait waits until every object is Current, ignoring Jobs.
func (c *kstatusClient) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout, false)
}

// WaitWithJobs waits until every object, Jobs included, is Current.
func (c *kstatusClient) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout, true)
}

func (c *kstatusClient) wait(resources kube.ResourceList, timeout time.Duration, jobs bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pending := make([]*resourceRef, 0, len(resources))
	for _, info := range resources {
		if info.Mapping == nil {
			continue
		}
		gvk := info.Mapping.GroupVersionKind
		if !jobs && gvk.Group == "batch" && gvk.Kind == "Job" {
			continue
		}
		pending = append(pending, &resourceRef{info.Mapping.Resource.GroupVersion().WithResource(info.Mapping.Resource.Resource), info.Namespace, info.Name, gvk.Kind})
	}
	interval := waitFirstPoll
	var lastReasons []string
	for {
		var err error
		pending, lastReasons, err = c.check(ctx, pending)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			sort.Strings(lastReasons)
			return fmt.Errorf("timed out waiting for the condition: %s", strings.Join(lastReasons, "; "))
		case <-time.After(interval):
		}
		interval = min(interval+waitPollStep, waitMaxPoll)
	}
}

type resourceRef struct {
	gvr             schema.GroupVersionResource
	namespace, name string
	kind            string
}

// check returns the objects not yet Current and why; a Failed object is an
// error.
func (c *kstatusClient) check(ctx context.Context, refs []*resourceRef) ([]*resourceRef, []string, error) {
	var pending []*resourceRef
	var reasons []string
	for _, r := range refs {
		var ri dynamic.ResourceInterface = c.dynamic.Resource(r.gvr)
		if r.namespace != "" {
			ri = c.dynamic.Resource(r.gvr).Namespace(r.namespace)
		}
		u, err := ri.Get(ctx, r.name, getOptions)
		if err != nil {
			if ctx.Err() != nil {
				reasons = append(reasons, fmt.Sprintf("%s %s/%s: %v", r.kind, r.namespace, r.name, err))
				pending = append(pending, r)
				continue
			}
			if apierrors.IsNotFound(err) {
				pending = append(pending, r)
				reasons = append(reasons, fmt.Sprintf("%s %s/%s: not found", r.kind, r.namespace, r.name))
				continue
			}
			if waitable(err) {
				pending = append(pending, r)
				reasons = append(reasons, fmt.Sprintf("%s %s/%s: %v", r.kind, r.namespace, r.name, err))
				continue
			}
			return nil, nil, err
		}
		res, err := status.Compute(u)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s/%s: computing status: %w", r.kind, r.namespace, r.name, err)
		}
		switch res.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			return nil, nil, fmt.Errorf("%s %s/%s failed: %s", r.kind, r.namespace, r.name, res.Message)
		default:
			pending = append(pending, r)
			reasons = append(reasons, fmt.Sprintf("%s %s/%s: %s", r.kind, r.namespace, r.name, res.Message))
		}
	}
	return pending, reasons, nil
}

var getOptions = metav1.GetOptions{}

// waitable reports whether a failed read during the wait is worth polling
// again: the API server is unreachable or overloaded, or it refuses a
// request it has not yet loaded the RBAC rules or tokens for (right after
// a restart). Until the timeout; then the last error is the reason.
func waitable(err error) bool {
	return reconcile.APIUnavailable(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}
