package webhook

import (
	"errors"
	"net/http"
	"testing"
)

// fuzzVerifier feeds arbitrary headers and bodies to one receiver type and
// checks the invariants: no panic, refusals are typed with 400 or 401, and
// the token never appears in an error.
func fuzzVerifier(f *testing.F, typ string, headerNames []string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add("", "", s)
		f.Add("sha256=00", "push", s)
	}
	f.Fuzz(func(t *testing.T, sig, event string, body []byte) {
		h := http.Header{}
		if len(headerNames) > 0 {
			h.Set(headerNames[0], sig)
		}
		if len(headerNames) > 1 {
			h.Set(headerNames[1], event)
		}
		h.Set("Content-Type", "application/json")
		_, err := Verify(typ, Request{Header: h, Body: body, Token: token, Events: []string{"push"}})
		if err == nil {
			return
		}
		var we *Error
		if !errors.As(err, &we) || (we.Status != 400 && we.Status != 401) {
			t.Fatalf("untyped refusal %v", err)
		}
	})
}

var push = []byte(`{"ref":"refs/heads/main","repository":{"full_name":"org/app"}}`)

func FuzzGenericHMAC(f *testing.F) { fuzzVerifier(f, "generic-hmac", []string{"X-Signature"}, push) }

func FuzzGitHub(f *testing.F) {
	fuzzVerifier(f, "github", []string{"X-Hub-Signature-256", "X-GitHub-Event"}, push)
}

func FuzzGitHubPayload(f *testing.F) {
	f.Add("application/json", push)
	f.Add("application/x-www-form-urlencoded", []byte("payload=%7B%7D"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) { _ = parseGitHubPayload(ct, body) })
}

func FuzzGitLab(f *testing.F) {
	fuzzVerifier(f, "gitlab", []string{"X-Gitlab-Token", "X-Gitlab-Event"}, []byte(`{"object_kind":"push"}`))
}

func FuzzBitbucket(f *testing.F) {
	fuzzVerifier(f, "bitbucket", []string{"X-Hub-Signature", "X-Event-Key"}, []byte(`{"eventKey":"repo:refs_changed"}`))
}

func FuzzHarbor(f *testing.F) {
	fuzzVerifier(f, "harbor", []string{"Authorization"}, []byte(`{"type":"PUSH_ARTIFACT","event_data":{}}`))
}

func FuzzDockerHub(f *testing.F) {
	fuzzVerifier(f, "dockerhub", nil, []byte(`{"push_data":{"tag":"1"},"repository":{"repo_name":"a/b"}}`))
}

func FuzzQuay(f *testing.F) {
	fuzzVerifier(f, "quay", nil, []byte(`{"docker_url":"quay.io/a/b","updated_tags":["1"]}`))
}

func FuzzNexus(f *testing.F) {
	fuzzVerifier(f, "nexus", []string{"X-Nexus-Webhook-Signature", "X-Nexus-Webhook-ID"}, []byte(`{"action":"CREATED"}`))
}

func FuzzCDEvents(f *testing.F) {
	fuzzVerifier(f, "cdevents", []string{"X-Unused", "Ce-Type"},
		[]byte(`{"context":{"type":"dev.cdevents.artifact.published.0.1.0"},"subject":{}}`))
}
