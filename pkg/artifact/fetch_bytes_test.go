package artifact

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestFetchBytes(t *testing.T) {
	data, digest := testArchive(t)
	var hits atomic.Int32
	srv := httptest.NewServer(flaky(data, 1, http.StatusServiceUnavailable, &hits))
	defer srv.Close()

	got, err := fastFetcher().FetchBytes(context.Background(), srv.URL+"/chart.tgz", digest)
	if err != nil {
		t.Fatalf("FetchBytes: %v", err)
	}
	if !bytes.Equal(got, data) || hits.Load() != 2 {
		t.Fatalf("got %d bytes after %d requests, want %d bytes after a retry", len(got), hits.Load(), len(data))
	}

	wrong := "sha256:" + string(bytes.Repeat([]byte("0"), 64))
	_, err = fastFetcher().FetchBytes(context.Background(), srv.URL+"/chart.tgz", wrong)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Step != "verify" || !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("want a verify error for a wrong digest, got %v", err)
	}
}
