package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// broker gathers cache changes for a short while and then wakes every
// open event stream; seq numbers the batches for Last-Event-ID.
type broker struct {
	batch   time.Duration
	mu      sync.Mutex
	seq     uint64
	pending bool
	subs    map[chan struct{}]struct{}
}

func newBroker(batch time.Duration) *broker {
	return &broker{batch: batch, subs: map[chan struct{}]struct{}{}}
}

func (b *broker) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending {
		return
	}
	b.pending = true
	time.AfterFunc(b.batch, b.flush)
}

func (b *broker) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = false
	b.seq++
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // already woken
		}
	}
}

func (b *broker) subscribe() (chan struct{}, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan struct{}, 1)
	b.subs[ch] = struct{}{}
	return ch, b.seq
}

func (b *broker) unsubscribe(ch chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, ch)
}

func (b *broker) current() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// stream serves text/event-stream: a "change" event after every batch of
// cache changes (at once when Last-Event-ID says the page missed some),
// and a comment line every heartbeat so proxies keep it open.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, seq := s.live.subscribe()
	defer s.live.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 2000\n\n")
	// A page says which batch it was rendered after (since=); a reconnect, the last it saw.
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("since")
	}
	if n, err := strconv.ParseUint(last, 10, 64); err == nil && n < seq {
		fmt.Fprintf(w, "id: %d\nevent: change\ndata: %d\n\n", seq, seq)
	}
	flusher.Flush()
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ch:
			seq := s.live.current()
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %d\n\n", seq, seq)
		case <-tick.C:
			fmt.Fprintf(w, ": heartbeat\n\n")
		}
		flusher.Flush()
	}
}
