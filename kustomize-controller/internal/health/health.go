// Package health waits for applied objects to become ready, using
// kstatus to read each kind's status.
package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/kustomize-controller/internal/inventory"

	celhealth "gotk.dev/pkg/health"
)

// DefaultPollInterval is how often objects are read while waiting.
const DefaultPollInterval = 2 * time.Second

// Checker reads objects and decides whether they are healthy.
type Checker struct {
	// Client reads the objects.
	Client client.Reader
	// PollInterval is the delay between reads (0: DefaultPollInterval).
	PollInterval time.Duration
	// Canceled, when set, is asked between reads whether the wait is
	// moot (a new source revision arrived); it returns the reason.
	Canceled func(ctx context.Context) (string, bool)
	// Exprs, when set, decide the health of their kinds instead of kstatus
	// (spec.healthCheckExprs).
	Exprs map[schema.GroupKind]*celhealth.Expressions
}

// ErrCanceled is wrapped when Canceled ended the wait.
var ErrCanceled = errors.New("health check canceled")

// Result is one object's last observed state.
type Result struct {
	Entry   inventory.Entry
	Status  status.Status
	Message string
}

func (r Result) String() string {
	return fmt.Sprintf("%s: %s", r.Entry, r.Message)
}

// ErrUnhealthy is wrapped when objects are not healthy at the timeout or
// have failed.
var ErrUnhealthy = errors.New("health check failed")

// Wait polls the objects until all are Current, one has Failed, the
// timeout passes or ctx ends. The error names every unhealthy object and
// why ("Deployment/production/my-app: 1 of 3 replicas available").
func (c *Checker) Wait(ctx context.Context, objs []inventory.Entry, timeout time.Duration) error {
	if len(objs) == 0 {
		return nil
	}
	interval := c.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	deadline := time.Now().Add(timeout)
	for {
		pending, failed := c.check(ctx, objs)
		if len(failed) > 0 {
			return fmt.Errorf("%w: %s", ErrUnhealthy, join(failed))
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s: %s", ErrUnhealthy, timeout, join(pending))
		}
		if c.Canceled != nil {
			if why, ok := c.Canceled(ctx); ok {
				return fmt.Errorf("%w: %s", ErrCanceled, why)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v: %s", ErrUnhealthy, ctx.Err(), join(pending))
		case <-time.After(interval):
		}
	}
}

// check reads every object once.
func (c *Checker) check(ctx context.Context, objs []inventory.Entry) (pending, failed []Result) {
	for _, e := range objs {
		r := c.One(ctx, e)
		switch r.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			failed = append(failed, r)
		default:
			pending = append(pending, r)
		}
	}
	return pending, failed
}

// One reads and evaluates one object.
func (c *Checker) One(ctx context.Context, e inventory.Entry) Result {
	u := e.Object()
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		if apierrors.IsNotFound(err) {
			return Result{Entry: e, Status: status.NotFoundStatus, Message: "not found"}
		}
		return Result{Entry: e, Status: status.UnknownStatus, Message: err.Error()}
	}
	if x, ok := c.Exprs[u.GroupVersionKind().GroupKind()]; ok {
		st, msg := x.Evaluate(u)
		return Result{Entry: e, Status: st, Message: msg}
	}
	res, err := status.Compute(u)
	if err != nil {
		return Result{Entry: e, Status: status.UnknownStatus, Message: err.Error()}
	}
	msg := res.Message
	if d := replicas(u); d != "" && res.Status != status.CurrentStatus {
		msg = d + " (" + msg + ")"
	}
	if msg == "" {
		msg = string(res.Status)
	}
	return Result{Entry: e, Status: res.Status, Message: msg}
}

// replicas describes rollout progress of workloads in the words users
// look for: "1 of 3 replicas available".
func replicas(u *unstructured.Unstructured) string {
	switch u.GetKind() {
	case "Deployment", "StatefulSet", "ReplicaSet":
	default:
		return ""
	}
	want, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	avail, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
	if u.GetKind() == "StatefulSet" {
		avail, _, _ = unstructured.NestedInt64(u.Object, "status", "readyReplicas")
	}
	return fmt.Sprintf("%d of %d replicas available", avail, want)
}

func join(rs []Result) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}
