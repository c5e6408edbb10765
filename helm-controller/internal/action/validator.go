package action

import (
	"encoding/json"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/validation"
)

// firstPerKind is a validation schema that lets one object of each
// apiVersion and kind through at a time until the first of them has been
// validated. kubectl's schema caches, per kind, whether the API server
// validates fields itself, but only once an answer is in: before that,
// every concurrent release parses the group's OpenAPI document (megabytes
// each) on its own, which many workers starting together turn into a
// burst of memory and CPU.
type firstPerKind struct {
	next validation.Schema

	mu    sync.Mutex
	kinds map[metav1.TypeMeta]*kindGate
}

// kindGate is held by the first validation of a kind; done says the
// kind's answer is cached below.
type kindGate struct {
	mu   sync.Mutex
	done bool
}

// ValidateBytes implements validation.Schema.
func (s *firstPerKind) ValidateBytes(data []byte) error {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil || tm.Kind == "" {
		return s.next.ValidateBytes(data) // its own error says what is wrong
	}
	s.mu.Lock()
	if s.kinds == nil {
		s.kinds = map[metav1.TypeMeta]*kindGate{}
	}
	g, ok := s.kinds[tm]
	if !ok {
		g = &kindGate{}
		s.kinds[tm] = g
	}
	s.mu.Unlock()
	g.mu.Lock()
	if g.done {
		g.mu.Unlock()
		return s.next.ValidateBytes(data)
	}
	defer g.mu.Unlock()
	err := s.next.ValidateBytes(data)
	g.done = true
	return err
}
