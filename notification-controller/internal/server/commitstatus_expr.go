package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// celCostLimit bounds one evaluation: the expressions come from users.
const celCostLimit = 1_000_000

// maxCachedExprs bounds the compiled-expression cache; it is emptied when full.
const maxCachedExprs = 256

var (
	celEnv = sync.OnceValues(func() (*cel.Env, error) {
		return cel.NewEnv(cel.Variable("event", cel.DynType), cel.Variable("provider", cel.DynType),
			cel.Variable("alert", cel.DynType), ext.Strings())
	})
	exprMu    sync.Mutex
	exprCache = map[string]cel.Program{}
)

// commitStatusID evaluates a Provider's spec.commitStatusExpr over the event,
// the Provider and the Alert (each as its JSON document) and returns the
// commit status identifier it gives. The error names the fault, not the
// objects' contents.
func commitStatusID(provider *notificationv1.Provider, alert *notificationv1.Alert, ev *eventv1.Event) (string, error) {
	prg, err := compileCommitStatusExpr(provider.Spec.CommitStatusExpr)
	if err != nil {
		return "", err
	}
	vars := map[string]any{}
	for name, obj := range map[string]any{"event": ev, "provider": provider, "alert": alert} {
		doc, err := asDocument(obj)
		if err != nil {
			return "", fmt.Errorf("spec.commitStatusExpr: reading %s: %w", name, err)
		}
		vars[name] = doc
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return "", fmt.Errorf("spec.commitStatusExpr: evaluating: %w", err)
	}
	id, ok := out.Value().(string)
	if !ok {
		return "", fmt.Errorf("spec.commitStatusExpr must give a string, got %s", out.Type().TypeName())
	}
	if strings.TrimSpace(id) == "" {
		return "", fmt.Errorf("spec.commitStatusExpr gave an empty commit status identifier")
	}
	return id, nil
}

func compileCommitStatusExpr(src string) (cel.Program, error) {
	exprMu.Lock()
	defer exprMu.Unlock()
	if prg, ok := exprCache[src]; ok {
		return prg, nil
	}
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("spec.commitStatusExpr does not compile: %w", iss.Err())
	}
	prg, err := env.Program(ast, cel.CostLimit(celCostLimit))
	if err != nil {
		return nil, fmt.Errorf("spec.commitStatusExpr: %w", err)
	}
	if len(exprCache) >= maxCachedExprs {
		exprCache = map[string]cel.Program{}
	}
	exprCache[src] = prg
	return prg, nil
}

// asDocument turns an object into the maps and lists of its JSON form, the
// shape expressions are written against (event.involvedObject.name).
func asDocument(obj any) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	return doc, json.Unmarshal(b, &doc)
}
