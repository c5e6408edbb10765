package v1

import (
	"crypto/sha256"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/runtime/reconcile"
)

var _ reconcile.Object = &Receiver{}

func TestGetWebhookPath(t *testing.T) {
	r := &Receiver{ObjectMeta: metav1.ObjectMeta{Name: "gh", Namespace: "flux-system"}}
	want := fmt.Sprintf("/hook/%x", sha256.Sum256([]byte("s3cr3t"+"gh"+"flux-system")))
	if got := r.GetWebhookPath("s3cr3t"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if r.GetRequeueAfter() != DefaultReceiverInterval {
		t.Fatalf("default interval: got %v", r.GetRequeueAfter())
	}
}
