package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no URL", "unable to clone: authentication required", "unable to clone: authentication required"},
		{"URL without credentials", "GET https://example.com/index.yaml: 404", "GET https://example.com/index.yaml: 404"},
		{"user and password", `Get "https://bob:s3cret@example.com/repo.git/info/refs": EOF`, `Get "https://example.com/repo.git/info/refs": EOF`},
		{"user only", "ssh://git@example.com:2222/repo.git", "ssh://example.com:2222/repo.git"},
		{"password with an unescaped @", "https://bob:p@ss@example.com/x", "https://example.com/x"},
		{"escaped password", "http://bob:p%40ss%2Fw@127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"two URLs", "from oci://u:p@reg.io/a to https://u2:p2@h/b", "from oci://reg.io/a to https://h/b"},
		{"email address is not a URL", "commit by bot@example.com", "commit by bot@example.com"},
		{"token query", "https://h/x?ref=main&token=abc123&b=1", "https://h/x?ref=main&token=***&b=1"},
		{"access_token first", "https://h/x?access_token=abc123", "https://h/x?access_token=***"},
		{"S3 presigned", "https://s3/b/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=f00d&X-Amz-Date=1", "https://s3/b/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1"},
		{"plain query kept", "https://h/x?page=2#frag", "https://h/x?page=2#frag"},
		{"URL at the end of a quoted path", `"https://u:p@h"`, `"https://h"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	// A *url.Error built by a client library (net/http masks only the
	// password of its own; others print the URL as given).
	cause := &url.Error{Op: "Get", URL: "http://leak-canary-user:leak-canary-pw@127.0.0.1:1/x", Err: errors.New("connection refused")}
	err := Error(fmt.Errorf("fetching index: %w", cause))
	if strings.Contains(err.Error(), "leak-canary") || !strings.Contains(err.Error(), "http://127.0.0.1:1/x") {
		t.Errorf("password not removed: %v", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !IsRedacted(err) {
		t.Errorf("the chain is lost: %#v", err)
	}
	plain := errors.New("no URL here")
	if Error(plain) != plain || Error(nil) != nil {
		t.Error("an error without credentials must come back unchanged")
	}
}

func TestLogger(t *testing.T) {
	var lines []string
	l := Logger(funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{Verbosity: 1}))
	u, _ := url.Parse("https://u:leak-canary-a@h/x")
	l = l.WithValues("url", "https://u:leak-canary-b@h/x").WithName("x")
	l.V(1).Info("fetching https://u:leak-canary-c@h/x", "parsed", u, "list", []string{"https://u:leak-canary-d@h"}, "n", 3)
	l.Error(errors.New("GET https://u:leak-canary-e@h/x?token=leak-canary-f"), "failed")
	out := strings.Join(lines, "\n")
	if len(lines) != 2 || strings.Contains(out, "leak-canary") || !strings.Contains(out, `"n"=3`) {
		t.Errorf("logged:\n%s", out)
	}
}

// recorded keeps what reached the inner recorder.
type recorded struct{ notes []string }

func (r *recorded) Eventf(_, _ runtime.Object, _, _, _, note string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(note, args...))
}

func (r *recorded) AnnotatedEventf(_, _ runtime.Object, _ map[string]string, _, _, _, note string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(note, args...))
}

func TestRecorder(t *testing.T) {
	inner := &recorded{}
	r := Recorder(inner)
	obj := &corev1.ConfigMap{}
	r.Eventf(obj, nil, "Warning", "Failed", "Reconcile", "fetch %s: %d%%", "https://u:leak-canary@h", 50)
	r.AnnotatedEventf(obj, nil, nil, "Normal", "Ok", "Reconcile", "from %s", "https://h/x?token=leak-canary")
	want := []string{"fetch https://h: 50%", "from https://h/x?token=***"}
	if fmt.Sprint(inner.notes) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", inner.notes, want)
	}
}
