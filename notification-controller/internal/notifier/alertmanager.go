package notifier

import (
	"context"
	"strings"
	"unicode"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// alertmanager posts a firing alert to Alertmanager's /api/v2/alerts
// (the address is the full endpoint URL). The event's metadata become labels;
// the message an annotation. Info events are sent too so that routing is
// Alertmanager's decision, with the severity label saying which is which.
type alertmanager struct {
	c       *client
	address string
}

func newAlertmanager(cfg Config, c *client) (Notifier, error) {
	if err := requireAddress(cfg); err != nil {
		return nil, err
	}
	return &alertmanager{c: c, address: cfg.Address}, nil
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (a *alertmanager) Post(ctx context.Context, ev *eventv1.Event) error {
	o := ev.InvolvedObject
	labels := map[string]string{}
	for _, f := range fields(ev) {
		labels[labelName(f.Key)] = f.Value
	}
	// The object's identity wins over metadata of the same name.
	for k, v := range map[string]string{
		"alertname": "Flux" + o.Kind + upperFirst(ev.Reason),
		"severity":  ev.Severity, "reason": ev.Reason, "kind": o.Kind,
		"name": o.Name, "namespace": o.Namespace, "reportingController": ev.ReportingController,
	} {
		labels[k] = v
	}
	annotations := map[string]string{"message": ev.Message}
	if s, ok := ev.Metadata["summary"]; ok {
		annotations["summary"] = s
	}
	alert := amAlert{Labels: labels, Annotations: annotations}
	if !ev.Timestamp.IsZero() {
		alert.StartsAt = ev.Timestamp.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	return a.c.postJSON(ctx, a.address, []amAlert{alert}, nil)
}

// labelName makes a metadata key a valid Prometheus label name.
func labelName(k string) string {
	var b strings.Builder
	for i, r := range k {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || r == '_' || (i > 0 && unicode.IsDigit(r))) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
