package webhook

import "strings"

// verifyHarbor checks the Authorization header (Harbor's "auth header"
// setting) against the token and requires Harbor's JSON payload.
func verifyHarbor(r Request) (Result, error) {
	presented := r.Header.Get("Authorization")
	if presented == "" {
		return Result{}, unauthorized("the Authorization header is missing")
	}
	if !equalToken(presented, r.Token) {
		return Result{}, unauthorized("the Authorization header does not match")
	}
	var p struct {
		Type      string `json:"type"`
		EventData *struct {
			Repository *struct {
				RepoFullName string `json:"repo_full_name"`
			} `json:"repository"`
		} `json:"event_data"`
	}
	if err := decodeJSON("harbor", r.Body, &p); err != nil {
		return Result{}, err
	}
	if p.Type == "" {
		return Result{}, badRequest("harbor payload: `type` is missing")
	}
	if !selected(r.Events, p.Type) {
		return skipped(p.Type), nil
	}
	return Result{Act: true}, nil
}

// DockerHubPayload is the part of a Docker Hub push notification used.
type DockerHubPayload struct {
	PushData struct {
		Tag string `json:"tag"`
	} `json:"push_data"`
	Repository struct {
		RepoName string `json:"repo_name"`
	} `json:"repository"`
}

// verifyDockerHub requires a push notification naming the repository;
// Docker Hub does not sign requests, so the secret path is the credential.
func verifyDockerHub(r Request) (Result, error) {
	var p DockerHubPayload
	if err := decodeJSON("dockerhub", r.Body, &p); err != nil {
		return Result{}, err
	}
	if p.Repository.RepoName == "" {
		return Result{}, badRequest("dockerhub payload: repository.repo_name is missing")
	}
	return Result{Act: true}, nil
}

// verifyQuay requires a repository push notification with docker_url;
// like Docker Hub, Quay relies on the secret path.
func verifyQuay(r Request) (Result, error) {
	var p struct {
		DockerURL   string   `json:"docker_url"`
		UpdatedTags []string `json:"updated_tags"`
	}
	if err := decodeJSON("quay", r.Body, &p); err != nil {
		return Result{}, err
	}
	if p.DockerURL == "" {
		return Result{}, badRequest("quay payload: docker_url is missing")
	}
	return Result{Act: true}, nil
}

// verifyNexus checks X-Nexus-Webhook-Signature, the hex HMAC-SHA1 of the
// body, and filters X-Nexus-Webhook-ID (e.g. rm:repository:component) by
// spec.events.
func verifyNexus(r Request) (Result, error) {
	sig := r.Header.Get("X-Nexus-Webhook-Signature")
	if sig == "" {
		return Result{}, unauthorized("the X-Nexus-Webhook-Signature header is missing")
	}
	if err := checkHMAC("sha1="+sig, r.Token, r.Body, "sha1"); err != nil {
		return Result{}, err
	}
	var p struct {
		Action string `json:"action"`
	}
	if err := decodeJSON("nexus", r.Body, &p); err != nil {
		return Result{}, err
	}
	event := r.Header.Get("X-Nexus-Webhook-ID")
	if !selected(r.Events, event) {
		return skipped(event), nil
	}
	return Result{Act: true}, nil
}

// verifyCDEvents requires a CDEvent (binary CloudEvents mode): a Ce-Type
// header naming a dev.cdevents type, matching the body's context.type when
// present, and filtered by spec.events.
func verifyCDEvents(r Request) (Result, error) {
	ceType := r.Header.Get("Ce-Type")
	if ceType == "" {
		return Result{}, badRequest("the Ce-Type header is missing")
	}
	if !strings.HasPrefix(ceType, "dev.cdevents.") {
		return Result{}, badRequest("Ce-Type %q is not a CDEvents type", truncate(ceType, 80))
	}
	var p struct {
		Context struct {
			ID     string `json:"id"`
			Source string `json:"source"`
			Type   string `json:"type"`
		} `json:"context"`
		Subject map[string]any `json:"subject"`
	}
	if err := decodeJSON("cdevents", r.Body, &p); err != nil {
		return Result{}, err
	}
	if p.Context.Type != "" && p.Context.Type != ceType {
		return Result{}, badRequest("context.type does not match the Ce-Type header")
	}
	if !selected(r.Events, ceType) {
		return skipped(ceType), nil
	}
	return Result{Act: true}, nil
}

// verifyACR requires an Azure Container Registry webhook notification
// naming the repository; ACR does not sign requests (the secret path is the
// credential). spec.events filters the action (push, delete, chart_push, …).
func verifyACR(r Request) (Result, error) {
	var p struct {
		Action string `json:"action"`
		Target struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
			Digest     string `json:"digest"`
		} `json:"target"`
		Request struct {
			Host string `json:"host"`
		} `json:"request"`
	}
	if err := decodeJSON("acr", r.Body, &p); err != nil {
		return Result{}, err
	}
	if p.Action == "" || p.Target.Repository == "" {
		return Result{}, badRequest("acr payload: action and target.repository are required")
	}
	if !selected(r.Events, p.Action) {
		return skipped(p.Action), nil
	}
	return Result{Act: true}, nil
}
