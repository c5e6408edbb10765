// Package event parses, validates and normalises the Flux-format events the
// other controllers POST to the ingest server, and rate-limits duplicates.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// MaxBodySize bounds one event body. The emitters cap a message at 39,000
// characters; metadata (e.g. an apply change set) rides along, so a few
// hundred KiB is generous without letting a client pin memory.
const MaxBodySize = 512 << 10

// MaxMessageLength is the longest message an emitter may send.
const MaxMessageLength = 39000

// KnownKinds are the kinds an Alert can select, so the only kinds whose
// events can be delivered anywhere.
var KnownKinds = map[string]bool{
	"Bucket": true, "GitRepository": true, "Kustomization": true, "HelmRelease": true,
	"HelmChart": true, "HelmRepository": true, "ImageRepository": true, "ImagePolicy": true,
	"ImageUpdateAutomation": true, "OCIRepository": true, "ArtifactGenerator": true, "ExternalArtifact": true,
}

// ErrTooLarge is returned when the body exceeds MaxBodySize.
var ErrTooLarge = fmt.Errorf("event body exceeds %d bytes", MaxBodySize)

// Read reads at most MaxBodySize bytes of r and parses them with Parse.
func Read(r io.Reader) (*eventv1.Event, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading event body: %w", err)
	}
	if len(body) > MaxBodySize {
		return nil, ErrTooLarge
	}
	return Parse(body)
}

// Parse decodes one event and validates it: the involved object (kind,
// name, namespace, apiVersion), a known kind, severity info or error,
// reason, message, and the reporting controller. The error names the first
// problem found; it never echoes metadata values.
func Parse(body []byte) (*eventv1.Event, error) {
	if len(body) > MaxBodySize {
		return nil, ErrTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var ev eventv1.Event
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decoding event: trailing data after the JSON object")
	}
	if err := Validate(&ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

// Validate checks the fields every emitter sets.
func Validate(ev *eventv1.Event) error {
	obj := ev.InvolvedObject
	switch {
	case obj.Kind == "":
		return errors.New("involvedObject.kind is required")
	case !KnownKinds[obj.Kind]:
		return fmt.Errorf("involvedObject.kind %q is not a kind events are accepted for", truncate(obj.Kind, 64))
	case obj.Name == "":
		return errors.New("involvedObject.name is required")
	case obj.Namespace == "":
		return errors.New("involvedObject.namespace is required")
	case obj.APIVersion == "":
		return errors.New("involvedObject.apiVersion is required")
	case ev.Severity != eventv1.EventSeverityInfo && ev.Severity != eventv1.EventSeverityError:
		return fmt.Errorf("severity %q must be info or error", truncate(ev.Severity, 32))
	case ev.Reason == "":
		return errors.New("reason is required")
	case strings.TrimSpace(ev.Message) == "":
		return errors.New("message is required")
	case len(ev.Message) > MaxMessageLength:
		return fmt.Errorf("message is longer than %d characters", MaxMessageLength)
	case ev.ReportingController == "":
		return errors.New("reportingController is required")
	}
	return nil
}

// Group returns the API group of the involved object ("" for core).
func Group(ev *eventv1.Event) string {
	gv := ev.InvolvedObject.APIVersion
	if i := strings.LastIndex(gv, "/"); i >= 0 {
		return gv[:i]
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
