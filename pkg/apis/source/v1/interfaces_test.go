package v1

import (
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// reconciled lists what the reconcile skeleton (pkg/runtime/reconcile)
// needs from an object. It is repeated here so this package's tests do not
// depend on the skeleton's build.
type reconciled interface {
	client.Object
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	GetLastHandledReconcileRequest() string
	SetLastHandledReconcileRequest(string)
	GetRequeueAfter() time.Duration
	GetObservedGeneration() int64
	SetObservedGeneration(int64)
	IsSuspended() bool
	GetArtifact() *meta.Artifact
}

// Compile-time checks: the reconciled kinds satisfy the skeleton's needs,
// and every artifact producer is a Source.
var (
	_ reconciled = &GitRepository{}
	_ reconciled = &OCIRepository{}
	_ reconciled = &HelmRepository{}
	_ reconciled = &HelmChart{}
	_ reconciled = &Bucket{}

	_ Source = &GitRepository{}
	_ Source = &OCIRepository{}
	_ Source = &HelmRepository{}
	_ Source = &HelmChart{}
	_ Source = &Bucket{}
	_ Source = &ExternalArtifact{}
)

func TestDefaults(t *testing.T) {
	if got := (&HelmRepository{}).GetRequeueAfter(); got != time.Minute {
		t.Errorf("HelmRepository interval fallback = %s, want 1m", got)
	}
	if got := (&GitRepository{}).GetTimeout(); got != 60*time.Second {
		t.Errorf("GitRepository timeout fallback = %s, want 60s", got)
	}
	v := &GitRepositoryVerification{Mode: "head"}
	if !v.VerifyHEAD() || v.VerifyTag() {
		t.Errorf("mode head: VerifyHEAD=%v VerifyTag=%v", v.VerifyHEAD(), v.VerifyTag())
	}
	inc := GitRepositoryInclude{}
	inc.GitRepositoryRef.Name = "other"
	if inc.GetToPath() != "other" {
		t.Errorf("include toPath default = %q", inc.GetToPath())
	}
}
