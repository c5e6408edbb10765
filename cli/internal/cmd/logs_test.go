package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogsFiltersControllerLines(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := `{"level":"info","ts":"2026-11-29T10:00:00Z","msg":"starting manager"}
{"level":"error","ts":"2026-11-29T10:00:01Z","msg":"Reconciler error","controllerKind":"Kustomization","name":"apps","namespace":"flux-system","error":"build failed"}
{"level":"info","ts":"2026-11-29T10:00:02Z","msg":"applied","controllerKind":"Kustomization","name":"infra","namespace":"flux-system"}
not json
{"level":"info","ts":"2026-11-29T10:00:03Z","msg":"partial`
	if err := os.WriteFile(filepath.Join(dir, "logs", "kustomize-controller.log"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runLogs(context.Background(), &out, &logsFlags{stateDir: dir, kind: "Kustomization", level: "error"}); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-29T10:00:01Z ERROR kustomize-controller Kustomization/flux-system/apps Reconciler error: build failed\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := runLogs(context.Background(), &out, &logsFlags{stateDir: dir}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Fatalf("printed %d lines, want the 3 complete JSON lines:\n%s", n, out.String())
	}
	if err := runLogs(context.Background(), &out, &logsFlags{stateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "gotk dev") {
		t.Fatalf("missing logs: %v", err)
	}
}
