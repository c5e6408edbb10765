package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if err := runLogs(context.Background(), &out, &logsFlags{stateDir: dir, kind: "Kustomization", level: "error", tail: -1}); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-29T10:00:01Z ERROR kustomize-controller Kustomization/flux-system/apps Reconciler error: build failed\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := runLogs(context.Background(), &out, &logsFlags{stateDir: dir, tail: -1}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Fatalf("printed %d lines, want the 3 complete JSON lines:\n%s", n, out.String())
	}
	if err := runLogs(context.Background(), &out, &logsFlags{stateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "gotk dev") {
		t.Fatalf("missing logs: %v", err)
	}
}

// TestLogsSinceTailNamespaces checks --since (by each line's time),
// --tail (the last lines of each log, before filtering) and the object
// namespace filter that --all-namespaces lifts, through the command.
func TestLogsSinceTailNamespaces(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	at := func(ago time.Duration) string { return now.Add(-ago).Format(time.RFC3339Nano) }
	lines := `{"level":"info","ts":"` + at(3*time.Hour) + `","msg":"started"}
{"level":"info","ts":"` + at(2*time.Hour) + `","msg":"old","controllerKind":"Kustomization","name":"old","namespace":"flux-system"}
{"level":"info","ts":"` + at(time.Minute) + `","msg":"tenant","controllerKind":"Kustomization","name":"t","namespace":"tenant"}
{"level":"info","ts":"` + at(time.Second) + `","msg":"new","controllerKind":"Kustomization","name":"new","namespace":"flux-system"}
`
	if err := os.WriteFile(filepath.Join(dir, "logs", "kustomize-controller.log"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // messages printed, in order
		err  string
	}{
		{name: "namespace flux-system by default", want: []string{"started", "old", "new"}},
		{name: "all namespaces", args: []string{"-A"}, want: []string{"started", "old", "tenant", "new"}},
		{name: "other namespace", args: []string{"-n", "tenant"}, want: []string{"started", "tenant"}},
		{name: "since 1h", args: []string{"--since", "1h", "--all-namespaces"}, want: []string{"tenant", "new"}},
		{name: "tail 2", args: []string{"--tail", "2", "-A"}, want: []string{"tenant", "new"}},
		{name: "tail counts lines before filtering", args: []string{"--tail", "2"}, want: []string{"new"}},
		{name: "tail 0", args: []string{"--tail", "0"}, want: nil},
		{name: "negative since", args: []string{"--since", "-5m"}, err: "--since must be a positive duration"},
		{name: "since not a duration", args: []string{"--since", "yesterday"}, err: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, append([]string{"logs", "--state-dir", dir}, tt.args...)...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if l != "" {
					fields := strings.Fields(l)
					got = append(got, fields[len(fields)-1])
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("printed %q, want %q:\n%s", got, tt.want, out)
			}
		})
	}
}
