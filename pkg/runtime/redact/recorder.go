package redact

import (
	"fmt"

	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/runtime"
)

// Recorder returns r with every event message redacted by String, for
// the Kubernetes event and the notification forwarded to --events-addr.
func Recorder(r events.Recorder) events.Recorder { return &recorder{inner: r} }

type recorder struct{ inner events.Recorder }

func (r *recorder) Eventf(object, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.inner.Eventf(object, related, eventtype, reason, action, "%s", String(fmt.Sprintf(note, args...)))
}

func (r *recorder) AnnotatedEventf(object, related runtime.Object, annotations map[string]string,
	eventtype, reason, action, note string, args ...any) {
	r.inner.AnnotatedEventf(object, related, annotations, eventtype, reason, action, "%s", String(fmt.Sprintf(note, args...)))
}
