package reconcile

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
)

// Shard is a controller's --watch-label-selector, kept for the messages
// of references. A sharded controller caches the objects of its own kinds
// in its shard only, and a dependency in another shard is reconciled (or
// not) by another instance; a bare "not found" or "not ready" would hide
// that. The zero Shard is an unsharded controller and adds nothing.
type Shard struct {
	selector labels.Selector
	text     string
}

// NewShard parses a --watch-label-selector ("" is no sharding).
func NewShard(selector string) (Shard, error) {
	if selector == "" {
		return Shard{}, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return Shard{}, fmt.Errorf("--watch-label-selector: %w", err)
	}
	return Shard{selector: sel, text: selector}, nil
}

// String returns the selector, "" when not sharded.
func (s Shard) String() string { return s.text }

// NotFound says what (e.g. "Source GitRepository/ns/name") was not found,
// naming this controller's shard when it is sharded, for a reference read
// whatever its shard (another controller's kind, or a dependsOn target):
// the object is missing, not hidden, and the selector says which instance
// is waiting for it.
func (s Shard) NotFound(what string) string {
	if s.selector == nil {
		return what + " not found"
	}
	return fmt.Sprintf("%s not found (reconciled by the shard --watch-label-selector=%s)", what, s.text)
}

// NotInShard says what was not found for a reference to an object of the
// controller's own kinds, read from its sharded cache: when sharded, the
// object may exist in another shard, which this instance cannot see, so
// the message says the reference must stay in the shard.
func (s Shard) NotInShard(what string) string {
	if s.selector == nil {
		return what + " not found"
	}
	return fmt.Sprintf("%s not found in this controller's shard (--watch-label-selector=%s): an object of another shard is not visible here, so it must carry this shard's label", what, s.text)
}

// Elsewhere returns a note for a dependency of the controller's own kind
// that exists with labels outside this shard ("" when the controller is
// not sharded or the labels match): another instance reconciles it, or
// none when no shard selects it.
func (s Shard) Elsewhere(objLabels map[string]string) string {
	if s.selector == nil || s.selector.Matches(labels.Set(objLabels)) {
		return ""
	}
	return fmt.Sprintf(" (it is outside this controller's shard --watch-label-selector=%s: the instance whose shard selects it reconciles it)", s.text)
}
