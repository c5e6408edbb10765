package server

import (
	"fmt"
	"regexp"
	"sync"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"k8s.io/apimachinery/pkg/labels"

	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// severityMatches reports whether the Alert forwards events of this
// severity: info Alerts take everything, error Alerts only errors.
func severityMatches(alert *notificationv1.Alert, ev *eventv1.Event) bool {
	return alert.GetEventSeverity() == notificationv1.EventSeverityInfo || ev.Severity == eventv1.EventSeverityError
}

// sourceMatch is how one eventSource relates to an event.
type sourceMatch int

const (
	noMatch sourceMatch = iota
	// matched by kind, namespace and name.
	matched
	// matched by kind, namespace and `*`, pending the object's labels.
	needsLabels
	// refused: the source names another namespace and cross-namespace
	// references are disabled.
	crossNamespace
)

// matchSource compares one eventSource of an Alert in alertNS with the
// event's involved object, without reading the object.
func matchSource(src notificationv1.CrossNamespaceObjectReference, alertNS string, ev *eventv1.Event, noCrossNS bool) sourceMatch {
	obj := ev.InvolvedObject
	ns := src.Namespace
	if ns == "" {
		ns = alertNS
	}
	if src.Kind != obj.Kind {
		return noMatch
	}
	if src.APIVersion != "" && src.APIVersion != obj.APIVersion {
		return noMatch
	}
	if ns != "*" && ns != obj.Namespace {
		return noMatch
	}
	if noCrossNS && obj.Namespace != alertNS {
		return crossNamespace
	}
	if src.Name != "*" {
		if src.Name == obj.Name {
			return matched
		}
		return noMatch
	}
	if len(src.MatchLabels) > 0 {
		return needsLabels
	}
	return matched
}

// labelsMatch reports whether the object's labels carry all of want.
func labelsMatch(want, have map[string]string) bool {
	return labels.SelectorFromSet(want).Matches(labels.Set(have))
}

// regexCache keeps compiled inclusion/exclusion patterns; Alerts change
// rarely and events are many.
type regexCache struct{ m sync.Map }

func (c *regexCache) get(pattern string) (*regexp.Regexp, error) {
	if re, ok := c.m.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	c.m.Store(pattern, re)
	return re, nil
}

// messageAllowed applies inclusionList (one must match, when set) then
// exclusionList (none may match) to the message. An invalid pattern is an
// error naming the list and the pattern.
func (c *regexCache) messageAllowed(alert *notificationv1.Alert, msg string) (bool, error) {
	if len(alert.Spec.InclusionList) > 0 {
		included := false
		for _, p := range alert.Spec.InclusionList {
			re, err := c.get(p)
			if err != nil {
				return false, fmt.Errorf("inclusionList pattern %q is invalid: %w", p, err)
			}
			if re.MatchString(msg) {
				included = true
				break
			}
		}
		if !included {
			return false, nil
		}
	}
	for _, p := range alert.Spec.ExclusionList {
		re, err := c.get(p)
		if err != nil {
			return false, fmt.Errorf("exclusionList pattern %q is invalid: %w", p, err)
		}
		if re.MatchString(msg) {
			return false, nil
		}
	}
	return true, nil
}

// enrich returns a copy of the event with the Alert's eventMetadata (keys
// the emitter set win) and summary added.
func enrich(alert *notificationv1.Alert, ev *eventv1.Event) *eventv1.Event {
	out := ev.DeepCopy()
	if len(alert.Spec.EventMetadata) == 0 && alert.Spec.Summary == "" {
		return out
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	for k, v := range alert.Spec.EventMetadata {
		if _, set := out.Metadata[k]; !set {
			out.Metadata[k] = v
		}
	}
	if alert.Spec.Summary != "" {
		if _, set := out.Metadata["summary"]; !set {
			out.Metadata["summary"] = alert.Spec.Summary
		}
	}
	return out
}
