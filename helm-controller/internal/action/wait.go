package action

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	helmaction "helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	celhealth "gotk.dev/pkg/health"
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

// kstatusClient is Helm's kube client with the waiters chosen here: the
// poller strategy (Helm's status-watcher strategy name) waits until
// kstatus computes every object Current, polled with a short, growing
// interval instead of Helm's watches (each of which builds its own REST
// mapper and HTTP client); legacy is Helm 3's readiness checks; hook-only
// waits for nothing but hooks. Hooks are always waited for as Helm 3
// did. Helm still decides what a failed wait means (the release is
// marked failed).
type kstatusClient struct {
	*kube.Client
	dynamic dynamic.Interface
	// exprs decide the health of their kinds in the poller's wait
	// (spec.healthCheckExprs).
	exprs map[schema.GroupKind]*celhealth.Expressions
}

var _ kube.InterfaceWaitOptions = (*kstatusClient)(nil)

func newKstatusClient(f *cachingFactory, namespace string, log slog.Handler) *kstatusClient {
	c := &kube.Client{Factory: f, Namespace: namespace}
	c.SetLogger(log)
	return &kstatusClient{Client: c, dynamic: f.dynamic}
}

// GetWaiter implements kube.Interface.
func (c *kstatusClient) GetWaiter(ws kube.WaitStrategy) (kube.Waiter, error) {
	return c.GetWaiterWithOptions(ws)
}

// GetWaiterWithOptions implements kube.InterfaceWaitOptions; the options
// (contexts Helm's own waiters honour) are not used.
func (c *kstatusClient) GetWaiterWithOptions(ws kube.WaitStrategy, _ ...kube.WaitOption) (kube.Waiter, error) {
	legacy, err := c.Client.GetWaiterWithOptions(kube.LegacyStrategy)
	if err != nil {
		return nil, err
	}
	switch ws {
	case kube.LegacyStrategy:
		return legacy, nil
	case kube.StatusWatcherStrategy:
		return &pollWaiter{Waiter: legacy, dynamic: c.dynamic, exprs: c.exprs}, nil
	case kube.HookOnlyStrategy:
		return hookOnlyWaiter{Waiter: legacy}, nil
	default:
		return nil, fmt.Errorf("unknown wait strategy %q", ws)
	}
}

// hookOnlyWaiter waits for hooks but neither for the release's objects
// to become ready nor for deleted ones to be gone (disableWait).
type hookOnlyWaiter struct{ kube.Waiter }

func (hookOnlyWaiter) Wait(kube.ResourceList, time.Duration) error          { return nil }
func (hookOnlyWaiter) WaitWithJobs(kube.ResourceList, time.Duration) error  { return nil }
func (hookOnlyWaiter) WaitForDelete(kube.ResourceList, time.Duration) error { return nil }

// pollWaiter waits for objects with kstatus polling; hooks and deletions
// are the embedded waiter's.
type pollWaiter struct {
	kube.Waiter
	dynamic dynamic.Interface
	exprs   map[schema.GroupKind]*celhealth.Expressions
}

// Wait waits until every object is Current, ignoring Jobs.
func (c *pollWaiter) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout, false)
}

// WaitWithJobs waits until every object, Jobs included, is Current.
func (c *pollWaiter) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout, true)
}

func (c *pollWaiter) wait(resources kube.ResourceList, timeout time.Duration, jobs bool) error {
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
func (c *pollWaiter) check(ctx context.Context, refs []*resourceRef) ([]*resourceRef, []string, error) {
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
		st, msg, err := c.status(u)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s/%s: computing status: %w", r.kind, r.namespace, r.name, err)
		}
		switch st {
		case status.CurrentStatus:
		case status.FailedStatus:
			return nil, nil, fmt.Errorf("%s %s/%s failed: %s", r.kind, r.namespace, r.name, msg)
		default:
			pending = append(pending, r)
			reasons = append(reasons, fmt.Sprintf("%s %s/%s: %s", r.kind, r.namespace, r.name, msg))
		}
	}
	return pending, reasons, nil
}

// status is what the kind's health expressions say of u, else kstatus.
func (c *pollWaiter) status(u *unstructured.Unstructured) (status.Status, string, error) {
	if x, ok := c.exprs[u.GroupVersionKind().GroupKind()]; ok {
		st, msg := x.Evaluate(u)
		return st, msg, nil
	}
	res, err := status.Compute(u)
	if err != nil {
		return "", "", err
	}
	return res.Status, res.Message, nil
}

// useHealthExprs compiles obj's spec.healthCheckExprs for the poller wait
// of cfg's actions; the error names the faulty expression.
func useHealthExprs(cfg *helmaction.Configuration, obj *helmv2.HelmRelease) error {
	exprs, err := celhealth.CompileExprs(obj.Spec.HealthCheckExprs)
	if err != nil {
		return err
	}
	if kc, ok := cfg.KubeClient.(*kstatusClient); ok {
		kc.exprs = exprs
	}
	return nil
}

var getOptions = metav1.GetOptions{}

// waitable reports whether a failed read during the wait is worth polling
// again: the API server is unreachable or overloaded, or it refuses a
// request it has not yet loaded the RBAC rules or tokens for (right after
// a restart). Until the timeout; then the last error is the reason.
func waitable(err error) bool {
	return reconcile.APIUnavailable(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}
