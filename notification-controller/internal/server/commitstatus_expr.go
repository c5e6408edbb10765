package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"

	"gotk.dev/notification-controller/internal/celexpr"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// commitStatusID evaluates a Provider's spec.commitStatusExpr over the event,
// the Provider and the Alert (each as its JSON document) and returns the
// commit status identifier it gives. The error names the fault, not the
// objects' contents.
func commitStatusID(provider *notificationv1.Provider, alert *notificationv1.Alert, ev *eventv1.Event) (string, error) {
	vars := map[string]any{}
	for name, obj := range map[string]any{"event": ev, "provider": provider, "alert": alert} {
		doc, err := asDocument(obj)
		if err != nil {
			return "", fmt.Errorf("spec.commitStatusExpr: reading %s: %w", name, err)
		}
		vars[name] = doc
	}
	out, err := celexpr.Eval(provider.Spec.CommitStatusExpr, vars)
	if err != nil {
		if errors.Is(err, celexpr.ErrCompile) {
			return "", fmt.Errorf("spec.commitStatusExpr %w", err)
		}
		return "", fmt.Errorf("spec.commitStatusExpr: %w", err)
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
