package redact

import (
	"net/url"

	"github.com/go-logr/logr"
)

// Logger returns l with every message, error and string value redacted
// by String before it reaches l's sink.
func Logger(l logr.Logger) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return logr.New(&sink{inner: l.GetSink()})
}

// sink redacts what it forwards to inner.
type sink struct{ inner logr.LogSink }

var (
	_ logr.LogSink          = &sink{}
	_ logr.CallDepthLogSink = &sink{}
)

func (s *sink) Init(info logr.RuntimeInfo) {
	// One frame more: this sink sits between logr and the inner sink.
	info.CallDepth++
	s.inner.Init(info)
}

func (s *sink) Enabled(level int) bool { return s.inner.Enabled(level) }

func (s *sink) Info(level int, msg string, kv ...any) {
	s.inner.Info(level, String(msg), values(kv)...)
}

func (s *sink) Error(err error, msg string, kv ...any) {
	s.inner.Error(Error(err), String(msg), values(kv)...)
}

func (s *sink) WithValues(kv ...any) logr.LogSink {
	return &sink{inner: s.inner.WithValues(values(kv)...)}
}

func (s *sink) WithName(name string) logr.LogSink { return &sink{inner: s.inner.WithName(name)} }

func (s *sink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.inner.(logr.CallDepthLogSink); ok {
		return &sink{inner: cd.WithCallDepth(depth)}
	}
	return s
}

// values redacts the values (never the keys) of a key/value list.
func values(kv []any) []any {
	if len(kv) == 0 {
		return kv
	}
	out := make([]any, len(kv))
	copy(out, kv)
	for i := 1; i < len(out); i += 2 {
		out[i] = value(out[i])
	}
	return out
}

func value(v any) any {
	switch x := v.(type) {
	case string:
		return String(x)
	case error:
		return Error(x)
	case *url.URL:
		if x == nil {
			return x
		}
		return String(x.String())
	case []string:
		c := make([]string, len(x))
		for i := range x {
			c[i] = String(x[i])
		}
		return c
	default:
		return v
	}
}
