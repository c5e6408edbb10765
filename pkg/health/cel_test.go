package health

import (
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func widgetCheck(current, inProgress, failed string) kustomize.CustomHealthCheck {
	return kustomize.CustomHealthCheck{APIVersion: "example.gotk.dev/v1", Kind: "Widget",
		HealthCheckExpressions: kustomize.HealthCheckExpressions{Current: current, InProgress: inProgress, Failed: failed}}
}

func TestCompileExprsRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		checks  []kustomize.CustomHealthCheck
		wantErr string
	}{
		{name: "syntax", checks: []kustomize.CustomHealthCheck{widgetCheck("status.phase ==", "", "")},
			wantErr: `healthCheckExprs[0] (example.gotk.dev/v1 Widget): current expression "status.phase ==" does not compile`},
		{name: "not a bool", checks: []kustomize.CustomHealthCheck{widgetCheck("'ready'", "", "")}, wantErr: "returns string, not a bool"},
		{name: "unknown variable", checks: []kustomize.CustomHealthCheck{widgetCheck("true", "", "object.status == 1")}, wantErr: `failed expression "object.status == 1" does not compile`},
		{name: "no current", checks: []kustomize.CustomHealthCheck{widgetCheck("", "true", "")}, wantErr: "current is required"},
		{name: "no kind", checks: []kustomize.CustomHealthCheck{{APIVersion: "v1", HealthCheckExpressions: kustomize.HealthCheckExpressions{Current: "true"}}}, wantErr: "must name a kind"},
		{name: "twice", checks: []kustomize.CustomHealthCheck{widgetCheck("true", "", ""), widgetCheck("true", "", "")}, wantErr: "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileExprs(tc.checks)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestExpressionsEvaluate(t *testing.T) {
	exprs, err := CompileExprs([]kustomize.CustomHealthCheck{widgetCheck(
		"status.phase == 'Ready'",
		"self.status.?phase.orValue('') == 'Pending'",
		"status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')")})
	if err != nil {
		t.Fatal(err)
	}
	x := exprs[schema.GroupKind{Group: "example.gotk.dev", Kind: "Widget"}]
	if x == nil {
		t.Fatal("no expressions for Widget")
	}
	for _, tc := range []struct {
		name    string
		status  map[string]any
		gen     int64
		want    status.Status
		wantMsg string
	}{
		{name: "no status yet", want: status.InProgressStatus, wantMsg: "Pending"},
		{name: "pending", status: map[string]any{"phase": "Pending"}, want: status.InProgressStatus, wantMsg: `inProgress expression`},
		{name: "failed", status: map[string]any{"phase": "Broken", "conditions": []any{map[string]any{"type": "Failed", "status": "True"}}},
			want: status.FailedStatus, wantMsg: `failed expression "status.conditions.exists`},
		{name: "missing field is in progress", status: map[string]any{"phase": "Starting"}, want: status.InProgressStatus, wantMsg: "no such key"},
		{name: "ready", status: map[string]any{"phase": "Ready", "conditions": []any{}}, want: status.CurrentStatus, wantMsg: "current expression"},
		{name: "old generation", status: map[string]any{"phase": "Ready", "conditions": []any{}, "observedGeneration": int64(1)}, gen: 2,
			want: status.InProgressStatus, wantMsg: "observedGeneration 1 is not generation 2"},
		{name: "none true", status: map[string]any{"phase": "Other", "conditions": []any{}}, want: status.InProgressStatus, wantMsg: "not true yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.gotk.dev/v1", "kind": "Widget",
				"metadata": map[string]any{"name": "w", "generation": tc.gen}}}
			if tc.status != nil {
				u.Object["status"] = tc.status
			}
			got, msg := x.Evaluate(u)
			if got != tc.want || !strings.Contains(msg, tc.wantMsg) {
				t.Fatalf("got %s %q, want %s containing %q", got, msg, tc.want, tc.wantMsg)
			}
		})
	}
}

// An expression from a user cannot keep the controller busy: its cost is
// bounded and exceeding the bound leaves the object in progress.
func TestExpressionsCostLimit(t *testing.T) {
	n := "status.n"
	exprs, err := CompileExprs([]kustomize.CustomHealthCheck{widgetCheck(
		n+".all(a, "+n+".all(b, "+n+".all(c, "+n+".all(d, "+n+".all(e, "+n+".all(f, a+b+c+d+e+f >= 0))))))", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.gotk.dev/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"}, "status": map[string]any{"n": []any{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}}
	got, msg := exprs[schema.GroupKind{Group: "example.gotk.dev", Kind: "Widget"}].Evaluate(u)
	if got != status.InProgressStatus || !strings.Contains(msg, "cost limit") {
		t.Fatalf("got %s %q", got, msg)
	}
}

func TestReadyExpr(t *testing.T) {
	self := map[string]any{"metadata": map[string]any{"name": "apps", "labels": map[string]any{"tier": "gold"}}}
	dep := map[string]any{
		"metadata": map[string]any{"name": "infra", "generation": int64(2), "labels": map[string]any{"tier": "gold"}},
		"status":   map[string]any{"observedGeneration": int64(2), "conditions": []any{map[string]any{"type": "Ready", "status": "False"}}},
	}
	for _, tc := range []struct {
		name, expr string
		compileErr string
		want       bool
		evalErr    string
	}{
		{name: "generation observed", expr: "dep.metadata.generation == dep.status.observedGeneration", want: true},
		{name: "built-in readiness", expr: "dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')", want: false},
		{name: "compares self and dep", expr: "dep.metadata.labels.tier == self.metadata.labels.tier", want: true},
		{name: "field not set yet", expr: "dep.status.lastAppliedRevision != ''", evalErr: "no such key: lastAppliedRevision"},
		{name: "syntax", expr: "dep.metadata.generation ==", compileErr: `readyExpr "dep.metadata.generation ==" does not compile`},
		{name: "unknown variable", expr: "dependency.status == 1", compileErr: "undeclared reference to 'dependency'"},
		{name: "not a bool", expr: "dep.metadata.name", evalErr: "returned infra, not a bool"},
		{name: "string literal", expr: "'yes'", compileErr: "returns string, not a bool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := CompileReadyExpr(tc.expr)
			if tc.compileErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.compileErr) {
					t.Fatalf("compile error %v, want %q", err, tc.compileErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := x.Ready(self, dep)
			if tc.evalErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.evalErr) {
					t.Fatalf("evaluation error %v, want %q", err, tc.evalErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Ready = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
