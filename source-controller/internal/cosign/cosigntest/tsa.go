package cosigntest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// tsaPath is where Sigstore's timestamp authority takes RFC 3161
// requests.
const tsaPath = "/api/v1/timestamp"

// TSA is a timestamp authority on loopback speaking RFC 3161 over HTTP
// as Sigstore's timestamp-authority does: a POST of an
// application/timestamp-query to /api/v1/timestamp answers an
// application/timestamp-reply signed by its own certificate chain.
type TSA struct {
	srv       *httptest.Server
	authority *root.SigstoreTimestampingAuthority
	key       *ecdsa.PrivateKey
}

// NewTSA starts a timestamp authority with a new root, intermediate and
// leaf certificate; Close stops it.
func NewTSA() (*TSA, error) {
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, err
	}
	interCert, interKey, err := ca.GenerateTSAIntermediate(rootCert, rootKey)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := ca.GenerateTSALeafCert(time.Now().Add(-5*time.Minute), key, interCert, interKey)
	if err != nil {
		return nil, err
	}
	t := &TSA{key: key, authority: &root.SigstoreTimestampingAuthority{Root: rootCert, Intermediates: []*x509.Certificate{interCert}, Leaf: leaf,
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour)}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tsaPath, t.serve)
	t.srv = httptest.NewServer(mux)
	t.authority.URI = t.srv.URL
	return t, nil
}

// URL is the authority's base URL.
func (t *TSA) URL() string { return t.srv.URL }

// Close stops the server.
func (t *TSA) Close() { t.srv.Close() }

// Authority is the TSA as a trusted root lists it.
func (t *TSA) Authority() root.TimestampingAuthority { return t.authority }

// serve answers one timestamp request.
func (t *TSA) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "want an application/timestamp-query", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, "not a timestamp request: "+err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:   req.HashAlgorithm,
		HashedMessage:   req.HashedMessage,
		Nonce:           req.Nonce,
		Time:            time.Now(),
		Policy:          asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		ExtraExtensions: req.Extensions,
	}
	resp, err := ts.CreateResponseWithOpts(t.authority.Leaf, t.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// Timestamp asks the authority at url for a timestamp of a signature, as
// cosign does: a SHA-256 request over the signature's bytes, with a nonce.
func Timestamp(url string, sig []byte) ([]byte, error) {
	req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	if err != nil {
		return nil, err
	}
	resp, err := http.Post(url+tsaPath, "application/timestamp-query", bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("timestamp authority: %s: %s", resp.Status, body)
	}
	return body, nil
}
