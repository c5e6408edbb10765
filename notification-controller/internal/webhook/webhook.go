// Package webhook verifies and parses the requests that Receivers accept,
// one file per sender family. It knows nothing of Kubernetes: the server
// looks the Receiver up, calls Verify, and annotates on Act.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub's legacy header and Nexus sign with HMAC-SHA1.
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// Request is what a verifier sees of one webhook call.
type Request struct {
	// Header holds the request headers.
	Header http.Header
	// Body is the request body, already size-limited by the server.
	Body []byte
	// Token is the Receiver's secret token.
	Token []byte
	// Events is spec.events; empty accepts every event type.
	Events []string
	// Secret is the data of spec.secretRef (gcr reads `email` and
	// `audience`); nil for generic-oidc.
	Secret map[string][]byte
	// OIDCProviders is spec.oidcProviders (generic-oidc).
	OIDCProviders []notificationv1.OIDCProvider
	// Issuers verifies OIDC tokens (gcr, generic-oidc); nil uses a
	// process-wide default.
	Issuers *Issuers
	// Context bounds the issuer fetches; nil is context.Background().
	Context context.Context
}

var defaultIssuers = &Issuers{}

func (r Request) issuers() *Issuers {
	if r.Issuers != nil {
		return r.Issuers
	}
	return defaultIssuers
}

func (r Request) context() context.Context {
	if r.Context != nil {
		return r.Context
	}
	return context.Background()
}

// Result says whether to request reconciles.
type Result struct {
	// Act is true when the resources must be annotated.
	Act bool
	// Note explains a request that is accepted without acting (a ping, an
	// event type the Receiver does not select).
	Note string
	// Claims are the verified token's claims (gcr, generic-oidc), given
	// to the resource filters as `claims`.
	Claims map[string]any
}

// Error is a refused request with the HTTP status to answer.
type Error struct {
	// Status is 401 for a missing or bad signature, 400 for a bad payload.
	Status int
	// Msg is safe to send back: it never contains the token.
	Msg string
}

// Error returns Msg.
func (e *Error) Error() string { return e.Msg }

func unauthorized(format string, args ...any) error {
	return &Error{Status: http.StatusUnauthorized, Msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotSupported marks Receiver types that are not implemented yet.
var ErrNotSupported = errors.New("not supported yet")

// Supported reports whether Verify handles the type.
func Supported(receiverType string) bool {
	_, ok := verifiers[receiverType]
	return ok
}

var verifiers = map[string]func(Request) (Result, error){
	notificationv1.GenericReceiver:     verifyGeneric,
	notificationv1.GenericHMACReceiver: verifyGenericHMAC,
	notificationv1.GitHubReceiver:      verifyGitHub,
	notificationv1.GitLabReceiver:      verifyGitLab,
	notificationv1.BitbucketReceiver:   verifyBitbucket,
	notificationv1.HarborReceiver:      verifyHarbor,
	notificationv1.DockerHubReceiver:   verifyDockerHub,
	notificationv1.QuayReceiver:        verifyQuay,
	notificationv1.NexusReceiver:       verifyNexus,
	notificationv1.CDEventsReceiver:    verifyCDEvents,
	notificationv1.ACRReceiver:         verifyACR,
	notificationv1.GCRReceiver:         verifyGCR,
	notificationv1.GenericOIDCReceiver: verifyGenericOIDC,
}

// Verify checks the request for a Receiver of the given type.
func Verify(receiverType string, r Request) (Result, error) {
	v, ok := verifiers[receiverType]
	if !ok {
		return Result{}, fmt.Errorf("receiver type %q is %w", receiverType, ErrNotSupported)
	}
	return v(r)
}

func verifyGeneric(Request) (Result, error) { return Result{Act: true}, nil }

// selected reports whether the event type passes spec.events
// (case-insensitive; empty selects all).
func selected(events []string, eventType string) bool {
	if len(events) == 0 {
		return true
	}
	for _, e := range events {
		if strings.EqualFold(e, eventType) {
			return true
		}
	}
	return false
}

func skipped(eventType string) Result {
	return Result{Note: fmt.Sprintf("event type %q is not selected by spec.events", eventType)}
}

// checkHMAC verifies a `<algo>=<hex>` signature of body in constant time.
// Algorithms: sha1, sha256, sha512.
func checkHMAC(header string, token, body []byte, allowed ...string) error {
	if header == "" {
		return unauthorized("the signature header is missing")
	}
	algo, sig, ok := strings.Cut(header, "=")
	if !ok {
		return unauthorized("the signature is not of the form <algorithm>=<hex>")
	}
	algo = strings.ToLower(algo)
	var h func() hash.Hash
	switch algo {
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	}
	if h == nil || (len(allowed) > 0 && !contains(allowed, algo)) {
		return unauthorized("signature algorithm %q is not accepted", truncate(algo, 16))
	}
	return compareMAC(h, sig, token, body)
}

// compareMAC compares hex(HMAC(token, body)) with sig in constant time.
func compareMAC(h func() hash.Hash, sig string, token, body []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return unauthorized("the signature is not hex")
	}
	mac := hmac.New(h, token)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return unauthorized("the signature does not match")
	}
	return nil
}

// equalToken compares a presented token with the Receiver's in constant time.
func equalToken(presented string, token []byte) bool {
	a := sha256.Sum256([]byte(presented))
	b := sha256.Sum256(token)
	// Hashing first makes the comparison independent of the lengths too.
	return hmac.Equal(a[:], b[:])
}

// decodeJSON decodes body into v, as a bad-request error.
func decodeJSON(sender string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("%s payload is not valid JSON: %s", sender, jsonErr(err))
	}
	return nil
}

// jsonErr shortens decoder errors, which can quote the input.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", truncate(te.Field, 64))
	}
	return "unexpected end of input"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
