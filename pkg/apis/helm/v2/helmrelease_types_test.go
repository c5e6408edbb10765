package v2

import (
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/runtime/reconcile"
)

var _ reconcile.Object = (*HelmRelease)(nil)

func TestGetReleaseName(t *testing.T) {
	hr := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "apps"}}
	if got := hr.GetReleaseName(); got != "podinfo" {
		t.Errorf("got %q", got)
	}
	hr.Spec.TargetNamespace = "prod"
	if got := hr.GetReleaseName(); got != "prod-podinfo" {
		t.Errorf("got %q", got)
	}
	hr.Spec.TargetNamespace = strings.Repeat("n", 40)
	hr.Name = strings.Repeat("x", 20)
	got := hr.GetReleaseName()
	if len(got) != MaxReleaseNameLength || !strings.HasPrefix(got, strings.Repeat("n", 40)+"-") {
		t.Errorf("long name not shortened: %q (%d)", got, len(got))
	}
	if again := hr.GetReleaseName(); again != got {
		t.Errorf("not stable: %q vs %q", again, got)
	}
	hr.Spec.ReleaseName = "explicit"
	if got := hr.GetReleaseName(); got != "explicit" {
		t.Errorf("got %q", got)
	}
}

func TestDefaults(t *testing.T) {
	hr := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns"}}
	if hr.GetTimeout() != 5*time.Minute || hr.GetMaxHistory() != 5 || !hr.UsePersistentClient() {
		t.Errorf("bad defaults")
	}
	if hr.GetReleaseNamespace() != "ns" || hr.GetStorageNamespace() != "ns" || hr.GetHelmChartName() != "ns-a" {
		t.Errorf("bad namespaces")
	}
	if hr.GetValues() != nil {
		t.Errorf("values not nil")
	}
	hr.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"replicas":2,"image":{"tag":"v1"}}`)}
	v := hr.GetValues()
	if v["replicas"] != float64(2) || v["image"].(map[string]interface{})["tag"] != "v1" {
		t.Errorf("values %v", v)
	}
	if hr.GetUpgrade().GetRemediation().GetStrategy() != RollbackRemediationStrategy {
		t.Errorf("upgrade remediation default")
	}
	if hr.GetUninstall().GetDeletionPropagation() != "background" || hr.GetDriftDetection().MustDetectChanges() {
		t.Errorf("uninstall/drift defaults")
	}
	hr.Status.LastAttemptedReleaseAction = ReleaseActionInstall
	r := hr.GetActiveRemediation()
	r.IncrementFailureCount(hr)
	if hr.Status.InstallFailures != 1 || !r.RetriesExhausted(hr) {
		t.Errorf("install remediation counting")
	}
}

func TestSnapshots(t *testing.T) {
	s := Snapshots{
		{Version: 1, Status: "superseded"},
		{Version: 3, Status: "failed"},
		{Version: 2, Status: "superseded"},
	}
	s[2].SetTestHooks(map[string]*TestHookStatus{"t": {Phase: "Failed"}})
	if s.Latest().Version != 3 {
		t.Errorf("latest")
	}
	if p := s.Previous(false); p == nil || p.Version != 1 {
		t.Errorf("previous without tests: %v", p)
	}
	if p := s.Previous(true); p == nil || p.Version != 2 {
		t.Errorf("previous ignoring tests: %v", p)
	}
	s.Truncate(true)
	if len(s) != 2 || s[0].Version != 3 || s[1].Version != 2 {
		t.Errorf("truncate: %d", len(s))
	}
}
