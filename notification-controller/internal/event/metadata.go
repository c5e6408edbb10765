package event

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// CleanupMetadata keeps only the metadata keys under the involved object's
// API group prefix or the event.toolkit.fluxcd.io/ prefix, with the prefix
// stripped, so providers see `revision`, `commit_status`, …; anything else an
// emitter attached is dropped, as are digests and checksums, which mean
// nothing to a person reading the notification.
func CleanupMetadata(ev *eventv1.Event) {
	if len(ev.Metadata) == 0 {
		ev.Metadata = nil
		return
	}
	prefixes := []string{eventv1.Group + "/"}
	if g := Group(ev); g != "" {
		prefixes = append(prefixes, g+"/")
	}
	out := make(map[string]string, len(ev.Metadata))
	for k, v := range ev.Metadata {
		for _, p := range prefixes {
			key, ok := strings.CutPrefix(k, p)
			if !ok || key == "" || key == eventv1.MetaChecksumKey || key == eventv1.MetaDigestKey {
				continue
			}
			out[key] = v
		}
	}
	if len(out) == 0 {
		out = nil
	}
	ev.Metadata = out
}

// DedupKey identifies an event for rate limiting as Flux does: the object
// (name, namespace, kind), the message, and the revision, origin revision and
// token metadata under the object's group. Two events with the same key
// within the rate-limit interval are the same news.
func DedupKey(ev *eventv1.Event) string {
	g := Group(ev)
	parts := []string{
		ev.InvolvedObject.Name, ev.InvolvedObject.Namespace, ev.InvolvedObject.Kind, ev.Message,
		ev.Metadata[g+"/"+eventv1.MetaRevisionKey],
		ev.Metadata[g+"/"+eventv1.MetaOriginRevisionKey],
		ev.Metadata[g+"/"+eventv1.MetaTokenKey],
	}
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		h.Write([]byte{byte(len(p) >> 24), byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p))})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
