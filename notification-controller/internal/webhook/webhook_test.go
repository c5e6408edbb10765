package webhook

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // test vectors for the SHA-1 senders
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

var token = []byte("s3cr3t")

func mac(h string, body []byte) string {
	var m = hmac.New(sha256.New, token)
	if h == "sha1" {
		m = hmac.New(sha1.New, token)
	}
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestVerify(t *testing.T) {
	push := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"org/app"}}`)
	harbor := []byte(`{"type":"PUSH_ARTIFACT","event_data":{"repository":{"repo_full_name":"lib/app"}}}`)
	nexus := []byte(`{"action":"CREATED"}`)
	cde := []byte(`{"context":{"id":"1","source":"ci","type":"dev.cdevents.artifact.published.0.1.0"},"subject":{"id":"x"}}`)
	tests := []struct {
		name       string
		typ        string
		header     http.Header
		body       []byte
		events     []string
		wantAct    bool
		wantStatus int // 0 = no error
		wantNote   string
	}{
		{name: "generic", typ: "generic", body: []byte("anything"), wantAct: true},
		{name: "generic-hmac sha256", typ: "generic-hmac", header: hdr("X-Signature", "sha256="+mac("sha256", push)), body: push, wantAct: true},
		{name: "generic-hmac sha1", typ: "generic-hmac", header: hdr("X-Signature", "sha1="+mac("sha1", push)), body: push, wantAct: true},
		{name: "generic-hmac missing", typ: "generic-hmac", body: push, wantStatus: 401},
		{name: "generic-hmac wrong", typ: "generic-hmac", header: hdr("X-Signature", "sha256="+mac("sha256", []byte("x"))), body: push, wantStatus: 401},
		{name: "generic-hmac md5", typ: "generic-hmac", header: hdr("X-Signature", "md5=00"), body: push, wantStatus: 401},
		{name: "github push", typ: "github", header: hdr("X-Hub-Signature-256", "sha256="+mac("sha256", push), "X-GitHub-Event", "push"),
			body: push, events: []string{"push"}, wantAct: true},
		{name: "github legacy sha1", typ: "github", header: hdr("X-Hub-Signature", "sha1="+mac("sha1", push), "X-GitHub-Event", "push"),
			body: push, wantAct: true},
		{name: "github sha1 in the 256 header", typ: "github", header: hdr("X-Hub-Signature-256", "sha1="+mac("sha1", push), "X-GitHub-Event", "push"),
			body: push, wantStatus: 401},
		{name: "github ping", typ: "github", header: hdr("X-Hub-Signature-256", "sha256="+mac("sha256", push), "X-GitHub-Event", "ping"),
			body: push, events: []string{"push"}, wantNote: "pong"},
		{name: "github filtered", typ: "github", header: hdr("X-Hub-Signature-256", "sha256="+mac("sha256", push), "X-GitHub-Event", "issues"),
			body: push, events: []string{"push"}, wantNote: "not selected"},
		{name: "github bad signature", typ: "github", header: hdr("X-Hub-Signature-256", "sha256=00", "X-GitHub-Event", "push"), body: push, wantStatus: 401},
		{name: "github unsigned", typ: "github", header: hdr("X-GitHub-Event", "push"), body: push, wantStatus: 401},
		{name: "github not json", typ: "github", header: hdr("X-Hub-Signature-256", "sha256="+mac("sha256", []byte("{")), "X-GitHub-Event", "push"),
			body: []byte("{"), wantStatus: 400},
		{name: "github form", typ: "github", header: hdr("X-Hub-Signature-256", "sha256="+mac("sha256", []byte("payload=%7B%7D")), "X-GitHub-Event", "push",
			"Content-Type", "application/x-www-form-urlencoded"), body: []byte("payload=%7B%7D"), wantAct: true},
		{name: "gitlab", typ: "gitlab", header: hdr("X-Gitlab-Token", "s3cr3t", "X-Gitlab-Event", "Push Hook"), body: []byte(`{"object_kind":"push"}`),
			events: []string{"Push Hook"}, wantAct: true},
		{name: "gitlab wrong token", typ: "gitlab", header: hdr("X-Gitlab-Token", "nope"), body: []byte(`{}`), wantStatus: 401},
		{name: "gitlab filtered", typ: "gitlab", header: hdr("X-Gitlab-Token", "s3cr3t", "X-Gitlab-Event", "Tag Push Hook"), body: []byte(`{}`),
			events: []string{"Push Hook"}, wantNote: "not selected"},
		{name: "bitbucket", typ: "bitbucket", header: hdr("X-Hub-Signature", "sha256="+mac("sha256", push), "X-Event-Key", "repo:refs_changed"),
			body: push, wantAct: true},
		{name: "bitbucket ping", typ: "bitbucket", header: hdr("X-Hub-Signature", "sha256="+mac("sha256", []byte("{}")), "X-Event-Key", "diagnostics:ping"),
			body: []byte("{}"), wantNote: "pong"},
		{name: "bitbucket unsigned", typ: "bitbucket", header: hdr("X-Event-Key", "repo:refs_changed"), body: push, wantStatus: 401},
		{name: "harbor", typ: "harbor", header: hdr("Authorization", "s3cr3t"), body: harbor, wantAct: true},
		{name: "harbor wrong", typ: "harbor", header: hdr("Authorization", "Bearer x"), body: harbor, wantStatus: 401},
		{name: "harbor no type", typ: "harbor", header: hdr("Authorization", "s3cr3t"), body: []byte(`{}`), wantStatus: 400},
		{name: "dockerhub", typ: "dockerhub", body: []byte(`{"push_data":{"tag":"1.0"},"repository":{"repo_name":"org/app"}}`), wantAct: true},
		{name: "dockerhub no repo", typ: "dockerhub", body: []byte(`{"push_data":{}}`), wantStatus: 400},
		{name: "quay", typ: "quay", body: []byte(`{"docker_url":"quay.io/org/app","updated_tags":["1.0"]}`), wantAct: true},
		{name: "quay bad", typ: "quay", body: []byte(`[]`), wantStatus: 400},
		{name: "nexus", typ: "nexus", header: hdr("X-Nexus-Webhook-Signature", mac("sha1", nexus), "X-Nexus-Webhook-ID", "rm:repository:component"),
			body: nexus, events: []string{"rm:repository:component"}, wantAct: true},
		{name: "nexus wrong", typ: "nexus", header: hdr("X-Nexus-Webhook-Signature", mac("sha256", nexus)), body: nexus, wantStatus: 401},
		{name: "cdevents", typ: "cdevents", header: hdr("Ce-Type", "dev.cdevents.artifact.published.0.1.0"), body: cde, wantAct: true},
		{name: "cdevents filtered", typ: "cdevents", header: hdr("Ce-Type", "dev.cdevents.artifact.published.0.1.0"), body: cde,
			events: []string{"dev.cdevents.service.deployed.0.1.0"}, wantNote: "not selected"},
		{name: "cdevents mismatch", typ: "cdevents", header: hdr("Ce-Type", "dev.cdevents.service.deployed.0.1.0"), body: cde, wantStatus: 400},
		{name: "cdevents no type", typ: "cdevents", body: cde, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			res, err := Verify(tt.typ, Request{Header: h, Body: tt.body, Token: token, Events: tt.events})
			if tt.wantStatus != 0 {
				var we *Error
				if !errors.As(err, &we) || we.Status != tt.wantStatus {
					t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
				}
				if strings.Contains(we.Msg, string(token)) {
					t.Fatalf("the error leaks the token: %s", we.Msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Act != tt.wantAct || !strings.Contains(res.Note, tt.wantNote) {
				t.Fatalf("result = %+v, want act=%v note~%q", res, tt.wantAct, tt.wantNote)
			}
		})
	}
}

// TestEveryTypeSupported: every type the CRD accepts has a verifier; an
// unknown one is refused as not supported.
func TestEveryTypeSupported(t *testing.T) {
	for _, typ := range []string{"generic", "generic-hmac", "generic-oidc", "github", "gitlab", "bitbucket", "harbor",
		"dockerhub", "quay", "gcr", "nexus", "acr", "cdevents"} {
		if !Supported(typ) {
			t.Errorf("%s is not supported", typ)
		}
	}
	if _, err := Verify("sourcehut", Request{}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("sourcehut: err = %v", err)
	}
}
