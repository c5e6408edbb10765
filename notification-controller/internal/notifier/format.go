package notifier

import (
	"fmt"
	"sort"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// subject names the object as people read it: kustomization/apps.flux-system.
func subject(ev *eventv1.Event) string {
	o := ev.InvolvedObject
	return fmt.Sprintf("%s/%s.%s", strings.ToLower(o.Kind), o.Name, o.Namespace)
}

// field is one metadata entry, in a stable order.
type field struct{ Key, Value string }

// fields returns the metadata sorted by key.
func fields(ev *eventv1.Event) []field {
	out := make([]field, 0, len(ev.Metadata))
	for k, v := range ev.Metadata {
		out = append(out, field{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func isError(ev *eventv1.Event) bool { return ev.Severity == eventv1.EventSeverityError }

// plainText is the event as a few lines of text for services without
// structured messages.
func plainText(ev *eventv1.Event) string {
	var b strings.Builder
	icon := "ℹ"
	if isError(ev) {
		icon = "⚠"
	}
	fmt.Fprintf(&b, "%s %s\n%s", icon, subject(ev), ev.Message)
	for _, f := range fields(ev) {
		fmt.Fprintf(&b, "\n%s: %s", f.Key, f.Value)
	}
	return b.String()
}

// markdown is plainText with the subject in bold and metadata as a list.
func markdown(ev *eventv1.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (%s)\n\n%s", subject(ev), ev.Severity, ev.Message)
	for _, f := range fields(ev) {
		fmt.Fprintf(&b, "\n- **%s**: %s", f.Key, f.Value)
	}
	return b.String()
}
