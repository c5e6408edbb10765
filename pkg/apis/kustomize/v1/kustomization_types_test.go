package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/runtime/reconcile"
)

var _ reconcile.Object = (*Kustomization)(nil)

func TestKustomizationDurations(t *testing.T) {
	d := func(v time.Duration) *metav1.Duration { return &metav1.Duration{Duration: v} }
	cases := []struct {
		name             string
		interval         time.Duration
		retry, timeout   *metav1.Duration
		wantRetry, wantT time.Duration
	}{
		{"defaults", 10 * time.Minute, nil, nil, 10 * time.Minute, 9*time.Minute + 30*time.Second},
		{"short interval", 40 * time.Second, nil, nil, 40 * time.Second, 30 * time.Second},
		{"explicit", 10 * time.Minute, d(time.Minute), d(2 * time.Minute), time.Minute, 2 * time.Minute},
		{"tiny timeout", time.Minute, nil, d(5 * time.Second), time.Minute, 30 * time.Second},
	}
	for _, c := range cases {
		k := &Kustomization{Spec: KustomizationSpec{
			Interval: metav1.Duration{Duration: c.interval}, RetryInterval: c.retry, Timeout: c.timeout,
		}}
		if got := k.GetRequeueAfter(); got != c.interval {
			t.Errorf("%s: requeue %v", c.name, got)
		}
		if got := k.GetRetryInterval(); got != c.wantRetry {
			t.Errorf("%s: retry %v, want %v", c.name, got, c.wantRetry)
		}
		if got := k.GetTimeout(); got != c.wantT {
			t.Errorf("%s: timeout %v, want %v", c.name, got, c.wantT)
		}
	}
	if p := (&Kustomization{}).GetDeletionPolicy(); p != DeletionPolicyMirrorPrune {
		t.Errorf("deletion policy %q", p)
	}
}
