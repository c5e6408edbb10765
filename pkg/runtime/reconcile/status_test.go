package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name            string
		err             error
		negative        map[string]string // negative conditions left True: type → reason
		wantReady       metav1.ConditionStatus
		wantReason      string
		wantReconciling bool
		wantStalled     bool
		wantObserved    bool
		wantRequeue     time.Duration
		wantErr         bool
	}{
		{name: "success", wantReady: metav1.ConditionTrue, wantReason: "Succeeded", wantObserved: true, wantRequeue: time.Minute},
		{name: "success with a negative condition left", negative: map[string]string{sourcev1.ArtifactOutdatedCondition: "NewRevision"},
			wantReady: metav1.ConditionFalse, wantReason: "NewRevision", wantObserved: true, wantRequeue: time.Minute},
		{name: "stalling", err: Stall("URLInvalid", "bad url"), wantReady: metav1.ConditionFalse, wantReason: "URLInvalid",
			wantStalled: true, wantObserved: true},
		{name: "waiting", err: Wait(30*time.Second, "DependencyNotReady", "dep not ready"), wantReady: metav1.ConditionFalse,
			wantReason: "DependencyNotReady", wantReconciling: true, wantRequeue: 30 * time.Second},
		{name: "transient typed", err: Retry("GitOperationFailed", "clone failed"), wantReady: metav1.ConditionFalse,
			wantReason: "GitOperationFailed", wantReconciling: true, wantErr: true},
		{name: "transient untyped", err: errors.New("boom"), wantReady: metav1.ConditionFalse, wantReason: "Failed",
			wantReconciling: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
			obj.Spec.Interval = metav1.Duration{Duration: time.Minute}
			obj.Status.ObservedGeneration = 2
			// Stale conditions from an earlier run must not survive.
			conditions.MarkStalled(obj, "Old", "old")
			conditions.MarkReconciling(obj, "Old", "old")
			for typ, reason := range tt.negative {
				conditions.MarkTrue(obj, typ, reason, "negative")
			}
			res, err := Summarize(obj, Outcome{Err: tt.err, Negative: []string{sourcev1.FetchFailedCondition, sourcev1.ArtifactOutdatedCondition}})

			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			ready := conditions.Get(obj, meta.ReadyCondition)
			if ready == nil || ready.Status != tt.wantReady || ready.Reason != tt.wantReason {
				t.Fatalf("Ready = %+v, want %s/%s", ready, tt.wantReady, tt.wantReason)
			}
			if got := conditions.IsTrue(obj, meta.ReconcilingCondition); got != tt.wantReconciling {
				t.Errorf("Reconciling = %v, want %v", got, tt.wantReconciling)
			}
			if got := conditions.IsTrue(obj, meta.StalledCondition); got != tt.wantStalled {
				t.Errorf("Stalled = %v, want %v", got, tt.wantStalled)
			}
			if got := obj.Status.ObservedGeneration == 3; got != tt.wantObserved {
				t.Errorf("observedGeneration = %d, updated want %v", obj.Status.ObservedGeneration, tt.wantObserved)
			}
			// Success requeues at the interval ± the jitter (none configured here).
			if res.RequeueAfter != tt.wantRequeue {
				t.Errorf("RequeueAfter = %s, want %s", res.RequeueAfter, tt.wantRequeue)
			}
		})
	}
}

func TestClassClassify(t *testing.T) {
	wrapped := errors.Join(errors.New("context"), Stall("InvalidSpec", "bad"))
	if e := Classify(wrapped, "Failed"); e.Class != Stalling || e.Reason != "InvalidSpec" {
		t.Fatalf("wrapped stall classified as %v/%s", e.Class, e.Reason)
	}
	if !IsStalling(wrapped) {
		t.Fatal("IsStalling(wrapped) = false")
	}
	if e := Classify(errors.New("x"), "Failed"); e.Class != Transient || e.Reason != "Failed" {
		t.Fatalf("plain error classified as %v/%s", e.Class, e.Reason)
	}
}

// TestStatusHasNoURLCredentials: a client error naming a URL with
// userinfo reaches Ready, Reconciling and the returned error without it,
// and so does a step's own negative condition.
func TestStatusHasNoURLCredentials(t *testing.T) {
	obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
	conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, "GitOperationFailed", "clone https://u:leak-canary@h/r.git: EOF")
	_, err := Summarize(obj, Outcome{Err: Retry("GitOperationFailed", "clone %s: EOF", "https://u:leak-canary@h/r.git")})
	redactConditions(obj)
	for _, c := range obj.GetConditions() {
		if strings.Contains(c.Message, "leak-canary") || !strings.Contains(c.Message, "https://h/r.git") {
			t.Errorf("%s message = %q", c.Type, c.Message)
		}
	}
	if err == nil || strings.Contains(err.Error(), "leak-canary") {
		t.Errorf("returned error = %v", err)
	}
}
