package webhook

import (
	"encoding/json"
	"net/http"
)

// GCRPayload is the message Artifact Registry (and Container Registry)
// publish to the gcr topic.
type GCRPayload struct {
	// Action is INSERT for a pushed image or tag, DELETE for a removal.
	Action string `json:"action"`
	// Digest is the image reference by digest.
	Digest string `json:"digest"`
	// Tag is the image reference by tag, empty for an untagged push.
	Tag string `json:"tag"`
}

// verifyGCR checks a Pub/Sub push request: its bearer token must be a
// Google-signed OIDC token for the secret's `audience`, carrying its
// verified `email` (the push subscription's service account). The
// envelope's message data is the registry's GCRPayload; spec.events
// filters the action and defaults to INSERT.
func verifyGCR(r Request) (Result, error) {
	raw, err := bearer(r.Header)
	if err != nil {
		return Result{}, err
	}
	email, audience := string(r.Secret["email"]), string(r.Secret["audience"])
	if email == "" || audience == "" {
		return Result{}, &Error{Status: http.StatusServiceUnavailable, Msg: "the receiver's secret lacks `email` or `audience`"}
	}
	is := r.issuers()
	claims, err := is.verify(r.context(), is.google(), audience, raw)
	if err != nil {
		return Result{}, err
	}
	if got, _ := claims["email"].(string); got != email {
		return Result{}, unauthorized("the token's email is not the secret's `email`")
	}
	if verified, _ := claims["email_verified"].(bool); !verified {
		return Result{}, unauthorized("the token's email is not verified")
	}
	var envelope struct {
		Message struct {
			Data      []byte `json:"data"`
			MessageID string `json:"messageId"`
		} `json:"message"`
		Subscription string `json:"subscription"`
	}
	if err := decodeJSON("gcr", r.Body, &envelope); err != nil {
		return Result{}, err
	}
	var p GCRPayload
	if err := json.Unmarshal(envelope.Message.Data, &p); err != nil {
		return Result{}, badRequest("gcr payload: message.data is not a JSON registry notification: %s", jsonErr(err))
	}
	if p.Action == "" {
		return Result{}, badRequest("gcr payload: message.data has no action")
	}
	events := r.Events
	if len(events) == 0 {
		events = []string{"INSERT"}
	}
	if !selected(events, p.Action) {
		return skipped(p.Action), nil
	}
	return Result{Act: true, Claims: claims}, nil
}
