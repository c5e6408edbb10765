package event

import (
	"sync"
	"time"
)

// Limiter remembers event keys for an interval so duplicates are refused.
// It is safe for concurrent use; expired keys are swept lazily.
type Limiter struct {
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time // key → expiry
	nextSweep time.Time
}

// NewLimiter returns a Limiter for the interval; a zero or negative interval
// lets every event through.
func NewLimiter(interval time.Duration) *Limiter {
	return &Limiter{interval: interval, now: time.Now, seen: map[string]time.Time{}}
}

// Allow records key and reports whether it was not seen within the interval.
func (l *Limiter) Allow(key string) bool {
	if l.interval <= 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.nextSweep) {
		for k, exp := range l.seen {
			if now.After(exp) {
				delete(l.seen, k)
			}
		}
		l.nextSweep = now.Add(l.interval)
	}
	if exp, ok := l.seen[key]; ok && now.Before(exp) {
		return false
	}
	l.seen[key] = now.Add(l.interval)
	return true
}

// Forget removes key so the same event can be sent again, used when an
// accepted event could not be processed.
func (l *Limiter) Forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, key)
}
