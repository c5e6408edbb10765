package webhook

import (
	"net/url"
	"strings"
)

// verifyGitHub checks X-Hub-Signature-256 (or the legacy SHA-1
// X-Hub-Signature), answers pings without acting, filters X-GitHub-Event by
// spec.events and requires a JSON payload (raw or form-encoded).
func verifyGitHub(r Request) (Result, error) {
	sig := r.Header.Get("X-Hub-Signature-256")
	algos := []string{"sha256"}
	if sig == "" {
		sig, algos = r.Header.Get("X-Hub-Signature"), []string{"sha1"}
	}
	if err := checkHMAC(sig, r.Token, r.Body, algos...); err != nil {
		return Result{}, err
	}
	event := r.Header.Get("X-GitHub-Event")
	if event == "" {
		return Result{}, badRequest("the X-GitHub-Event header is missing")
	}
	if err := parseGitHubPayload(r.Header.Get("Content-Type"), r.Body); err != nil {
		return Result{}, err
	}
	if event == "ping" {
		return Result{Note: "pong"}, nil
	}
	if !selected(r.Events, event) {
		return skipped(event), nil
	}
	return Result{Act: true}, nil
}

// parseGitHubPayload accepts application/json or a form with `payload`.
func parseGitHubPayload(contentType string, body []byte) error {
	if strings.HasPrefix(strings.ToLower(contentType), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return badRequest("github payload: the form is malformed")
		}
		body = []byte(form.Get("payload"))
	}
	var p struct {
		Ref        string `json:"ref"`
		Repository *struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	return decodeJSON("github", body, &p)
}

// verifyGitLab checks X-Gitlab-Token against the token and filters
// X-Gitlab-Event by spec.events.
func verifyGitLab(r Request) (Result, error) {
	presented := r.Header.Get("X-Gitlab-Token")
	if presented == "" {
		return Result{}, unauthorized("the X-Gitlab-Token header is missing")
	}
	if !equalToken(presented, r.Token) {
		return Result{}, unauthorized("the X-Gitlab-Token does not match")
	}
	event := r.Header.Get("X-Gitlab-Event")
	var p struct {
		ObjectKind string `json:"object_kind"`
	}
	if err := decodeJSON("gitlab", r.Body, &p); err != nil {
		return Result{}, err
	}
	if !selected(r.Events, event) {
		return skipped(event), nil
	}
	return Result{Act: true}, nil
}

// verifyBitbucket checks Bitbucket Server's X-Hub-Signature (sha256=<hex>),
// answers its diagnostics ping, and filters X-Event-Key by spec.events.
func verifyBitbucket(r Request) (Result, error) {
	if err := checkHMAC(r.Header.Get("X-Hub-Signature"), r.Token, r.Body, "sha256"); err != nil {
		return Result{}, err
	}
	event := r.Header.Get("X-Event-Key")
	if event == "diagnostics:ping" {
		return Result{Note: "pong"}, nil
	}
	var p struct {
		EventKey   string `json:"eventKey"`
		Repository *struct {
			Slug string `json:"slug"`
		} `json:"repository"`
	}
	if err := decodeJSON("bitbucket", r.Body, &p); err != nil {
		return Result{}, err
	}
	if !selected(r.Events, event) {
		return skipped(event), nil
	}
	return Result{Act: true}, nil
}
