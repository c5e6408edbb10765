package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	corev1 "k8s.io/api/core/v1"
)

func validEvent() eventv1.Event {
	return eventv1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Kustomization", Name: "apps", Namespace: "flux-system",
			APIVersion: "kustomize.toolkit.fluxcd.io/v1"},
		Severity: "error", Message: "health check failed", Reason: "HealthCheckFailed",
		ReportingController: "kustomize-controller",
		Metadata: map[string]string{
			"kustomize.toolkit.fluxcd.io/revision": "main@sha1:abc",
			"kustomize.toolkit.fluxcd.io/digest":   "sha256:ff",
			"event.toolkit.fluxcd.io/cluster":      "prod",
			"source.toolkit.fluxcd.io/revision":    "other-group",
			"token":                                "no-prefix",
		},
	}
}

func marshal(t *testing.T, ev eventv1.Event) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*eventv1.Event)
		raw     string
		wantErr string
	}{
		{name: "valid"},
		{name: "info is valid", mutate: func(e *eventv1.Event) { e.Severity = "info" }},
		{name: "missing kind", mutate: func(e *eventv1.Event) { e.InvolvedObject.Kind = "" }, wantErr: "involvedObject.kind is required"},
		{name: "unknown kind", mutate: func(e *eventv1.Event) { e.InvolvedObject.Kind = "Pod" }, wantErr: `"Pod" is not a kind`},
		{name: "missing name", mutate: func(e *eventv1.Event) { e.InvolvedObject.Name = "" }, wantErr: "involvedObject.name is required"},
		{name: "missing namespace", mutate: func(e *eventv1.Event) { e.InvolvedObject.Namespace = "" }, wantErr: "involvedObject.namespace is required"},
		{name: "missing apiVersion", mutate: func(e *eventv1.Event) { e.InvolvedObject.APIVersion = "" }, wantErr: "apiVersion is required"},
		{name: "trace severity", mutate: func(e *eventv1.Event) { e.Severity = "trace" }, wantErr: "must be info or error"},
		{name: "missing reason", mutate: func(e *eventv1.Event) { e.Reason = "" }, wantErr: "reason is required"},
		{name: "blank message", mutate: func(e *eventv1.Event) { e.Message = "  " }, wantErr: "message is required"},
		{name: "long message", mutate: func(e *eventv1.Event) { e.Message = strings.Repeat("x", MaxMessageLength+1) }, wantErr: "longer than"},
		{name: "missing controller", mutate: func(e *eventv1.Event) { e.ReportingController = "" }, wantErr: "reportingController is required"},
		{name: "not json", raw: "{", wantErr: "decoding event"},
		{name: "trailing data", raw: `{"a":1} {"b":2}`, wantErr: "trailing data"},
		{name: "array", raw: `[]`, wantErr: "decoding event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.raw != "" {
				body = []byte(tt.raw)
			} else {
				ev := validEvent()
				if tt.mutate != nil {
					tt.mutate(&ev)
				}
				body = marshal(t, ev)
			}
			got, err := Parse(body)
			if tt.wantErr == "" {
				if err != nil || got == nil {
					t.Fatalf("Parse() = %v, %v; want an event", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadTooLarge(t *testing.T) {
	_, err := Read(bytes.NewReader(make([]byte, MaxBodySize+10)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read() error = %v, want ErrTooLarge", err)
	}
}

func TestCleanupMetadata(t *testing.T) {
	ev := validEvent()
	CleanupMetadata(&ev)
	want := map[string]string{"revision": "main@sha1:abc", "cluster": "prod"}
	if len(ev.Metadata) != len(want) {
		t.Fatalf("metadata = %v, want %v", ev.Metadata, want)
	}
	for k, v := range want {
		if ev.Metadata[k] != v {
			t.Fatalf("metadata[%s] = %q, want %q (all: %v)", k, ev.Metadata[k], v, ev.Metadata)
		}
	}
}

func TestDedupKey(t *testing.T) {
	a, b := validEvent(), validEvent()
	if DedupKey(&a) != DedupKey(&b) {
		t.Fatal("equal events have different keys")
	}
	b.Metadata["kustomize.toolkit.fluxcd.io/revision"] = "main@sha1:def"
	if DedupKey(&a) == DedupKey(&b) {
		t.Fatal("a new revision must give a new key")
	}
	c := validEvent()
	c.Metadata["kustomize.toolkit.fluxcd.io/token"] = "t1"
	if DedupKey(&a) == DedupKey(&c) {
		t.Fatal("a token must give a new key")
	}
	d := validEvent()
	d.Metadata["event.toolkit.fluxcd.io/cluster"] = "staging"
	if DedupKey(&a) != DedupKey(&d) {
		t.Fatal("metadata outside the dedup fields must not change the key")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(time.Minute)
	l.now = func() time.Time { return now }
	if !l.Allow("k") {
		t.Fatal("first event refused")
	}
	if l.Allow("k") {
		t.Fatal("duplicate within the interval allowed")
	}
	if !l.Allow("other") {
		t.Fatal("a different key refused")
	}
	now = now.Add(61 * time.Second)
	if !l.Allow("k") {
		t.Fatal("duplicate after the interval refused")
	}
	l.Forget("k")
	if !l.Allow("k") {
		t.Fatal("a forgotten key refused")
	}
	if off := NewLimiter(0); !off.Allow("k") || !off.Allow("k") {
		t.Fatal("a zero interval must not limit")
	}
}

func FuzzParse(f *testing.F) {
	ev := validEvent()
	b, _ := json.Marshal(ev)
	f.Add(b)
	f.Add([]byte(`{"involvedObject":{"kind":"GitRepository","name":"a","namespace":"b","apiVersion":"source.toolkit.fluxcd.io/v1"},"severity":"info","message":"m","reason":"r","reportingController":"c"}`))
	f.Add([]byte(`{"metadata":{"a":"b"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Parse(body)
		if err != nil {
			return
		}
		if Validate(got) != nil {
			t.Fatalf("Parse accepted an invalid event: %+v", got)
		}
		_ = DedupKey(got)
		CleanupMetadata(got)
		for _, k := range []string{"digest", "checksum", ""} {
			if _, ok := got.Metadata[k]; ok {
				t.Fatalf("metadata key %q survived cleanup", k)
			}
		}
	})
}
