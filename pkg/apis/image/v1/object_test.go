package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/runtime/reconcile"
)

var (
	_ reconcile.Object = &ImageRepository{}
	_ reconcile.Object = &ImagePolicy{}
	_ reconcile.Object = &ImageUpdateAutomation{}
)

func TestImagePolicyRequeue(t *testing.T) {
	p := &ImagePolicy{}
	if got := p.GetRequeueAfter(); got != 0 {
		t.Fatalf("Never: got %v, want 0", got)
	}
	p.Spec.DigestReflectionPolicy = ReflectAlways
	if got := p.GetRequeueAfter(); got != DefaultImagePolicyDigestInterval {
		t.Fatalf("Always without interval: got %v", got)
	}
	p.Spec.Interval = &metav1.Duration{Duration: time.Minute}
	if got := p.GetRequeueAfter(); got != time.Minute {
		t.Fatalf("Always with interval: got %v", got)
	}
}

func TestImageRefString(t *testing.T) {
	r := ImageRef{Name: "ghcr.io/a/b", Tag: "1.0.0"}
	if r.String() != "ghcr.io/a/b:1.0.0" {
		t.Fatal(r.String())
	}
	r.Digest = "sha256:abc"
	if r.String() != "ghcr.io/a/b:1.0.0@sha256:abc" {
		t.Fatal(r.String())
	}
}
