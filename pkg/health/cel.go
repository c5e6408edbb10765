// Package health evaluates the CEL health expressions of custom kinds
// (spec.healthCheckExprs) and dependsOn ready expressions, for the
// controllers that wait on applied objects.
package health

import (
	"fmt"
	"strings"
	"sync"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// celCostLimit bounds one evaluation: the expressions come from users.
const celCostLimit = 1_000_000

// objectVariables are the object's top-level fields, declared as variables
// so Flux's expressions ("status.phase == 'Ready'") work as written; the
// whole object is also "self".
var objectVariables = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// Expressions are the compiled healthCheckExprs of one kind.
type Expressions struct {
	inProgress, failed, current *expr
}

type expr struct {
	field, source string
	program       cel.Program
}

// celEnv is built once: an environment is immutable and costly to make.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	opts := []cel.EnvOption{cel.Variable("self", cel.DynType), cel.OptionalTypes(), ext.Strings()}
	for _, v := range objectVariables {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	return cel.NewEnv(opts...)
})

// CompileExprs compiles spec.healthCheckExprs, keyed by the group and kind
// they apply to. The error names the entry, the expression and the fault.
func CompileExprs(checks []kustomize.CustomHealthCheck) (map[schema.GroupKind]*Expressions, error) {
	if len(checks) == 0 {
		return nil, nil
	}
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	out := make(map[schema.GroupKind]*Expressions, len(checks))
	for i, hc := range checks {
		where := fmt.Sprintf("healthCheckExprs[%d] (%s %s)", i, hc.APIVersion, hc.Kind)
		gv, err := schema.ParseGroupVersion(hc.APIVersion)
		if err != nil || hc.Kind == "" {
			return nil, fmt.Errorf("%s: apiVersion and kind must name a kind", where)
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: hc.Kind}
		if _, dup := out[gk]; dup {
			return nil, fmt.Errorf("%s: %s has expressions twice", where, gk)
		}
		if strings.TrimSpace(hc.Current) == "" {
			return nil, fmt.Errorf("%s: current is required", where)
		}
		e := &Expressions{}
		for _, f := range []struct {
			name, src string
			dst       **expr
		}{{"inProgress", hc.InProgress, &e.inProgress}, {"failed", hc.Failed, &e.failed}, {"current", hc.Current, &e.current}} {
			if strings.TrimSpace(f.src) == "" {
				continue
			}
			prg, err := compileBool(env, fmt.Sprintf("%s expression", f.name), f.src)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			*f.dst = &expr{field: f.name, source: f.src, program: prg}
		}
		out[gk] = e
	}
	return out, nil
}

// Evaluate tells the object's status: in progress while the controller of
// the kind has not observed its latest generation, then the first of
// inProgress, failed, current that is true; none true is in progress. An
// expression that cannot be evaluated (a field not set yet) also leaves the
// object in progress, so the wait goes on until the timeout, as in Flux.
func (e *Expressions) Evaluate(u *unstructured.Unstructured) (status.Status, string) {
	observed, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if found && observed != u.GetGeneration() {
		return status.InProgressStatus, fmt.Sprintf("status.observedGeneration %d is not generation %d yet", observed, u.GetGeneration())
	}
	vars := map[string]any{"self": u.Object}
	for _, v := range objectVariables {
		if val, ok := u.Object[v]; ok {
			vars[v] = val
		}
	}
	for _, x := range []struct {
		e *expr
		s status.Status
	}{{e.inProgress, status.InProgressStatus}, {e.failed, status.FailedStatus}, {e.current, status.CurrentStatus}} {
		if x.e == nil {
			continue
		}
		val, _, err := x.e.program.Eval(vars)
		if err != nil {
			return status.InProgressStatus, fmt.Sprintf("%s expression %q: %s", x.e.field, x.e.source, err)
		}
		if b, ok := val.Value().(bool); !ok {
			return status.InProgressStatus, fmt.Sprintf("%s expression %q returned %v, not a bool", x.e.field, x.e.source, val.Value())
		} else if b {
			return x.s, fmt.Sprintf("%s expression %q is true", x.e.field, x.e.source)
		}
	}
	return status.InProgressStatus, fmt.Sprintf("current expression %q is not true yet", e.current.source)
}

// depEnv is the environment of dependsOn[].readyExpr: "self" is the
// dependent Kustomization, "dep" the dependency.
var depEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(cel.Variable("self", cel.DynType), cel.Variable("dep", cel.DynType), cel.OptionalTypes(), ext.Strings())
})

// ReadyExpr is a compiled dependsOn[].readyExpr.
type ReadyExpr struct {
	source  string
	program cel.Program
}

// CompileReadyExpr compiles a readyExpr; the error says why it does not
// compile or why it cannot be a condition.
func CompileReadyExpr(src string) (*ReadyExpr, error) {
	env, err := depEnv()
	if err != nil {
		return nil, err
	}
	prg, err := compileBool(env, "readyExpr", src)
	if err != nil {
		return nil, err
	}
	return &ReadyExpr{source: src, program: prg}, nil
}

// compileBool compiles src, which must yield a bool (or a dynamic value),
// into a program bounded by celCostLimit; errors start with what the
// expression is and quote it.
func compileBool(env *cel.Env, what, src string) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%s %q does not compile: %s", what, src, iss.Err())
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, fmt.Errorf("%s %q returns %s, not a bool", what, src, t)
	}
	prg, err := env.Program(ast, cel.CostLimit(celCostLimit))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %s", what, src, err)
	}
	return prg, nil
}

// Ready evaluates the expression with self and dep (objects as maps). An
// expression that cannot be evaluated yet (a status field not set) is an
// error the caller waits on, like a false one.
func (r *ReadyExpr) Ready(self, dep map[string]any) (bool, error) {
	val, _, err := r.program.Eval(map[string]any{"self": self, "dep": dep})
	if err != nil {
		return false, fmt.Errorf("readyExpr %q: %s", r.source, err)
	}
	b, ok := val.Value().(bool)
	if !ok {
		return false, fmt.Errorf("readyExpr %q returned %v, not a bool", r.source, val.Value())
	}
	return b, nil
}

// String returns the expression's source.
func (r *ReadyExpr) String() string { return r.source }
