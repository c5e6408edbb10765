package cosigntest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // the entry kind cosign logs
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
)

// rekorEntriesPath is where Rekor's v1 API takes new log entries.
const rekorEntriesPath = "/api/v1/log/entries"

// Rekor is a transparency log on loopback speaking the part of Rekor's v1
// API cosign uses to log a signature: a POST of a proposed entry (JSON) to
// /api/v1/log/entries is checked and canonicalised as Rekor does, and
// answered 201 with the entry keyed by its UUID: body, integratedTime,
// logID, logIndex and the log's signed entry timestamp (its promise to
// include the entry).
type Rekor struct {
	srv    *httptest.Server
	signer signature.Signer
	key    *ecdsa.PrivateKey
	logID  []byte
	mu     sync.Mutex
	index  int64
}

// NewRekor starts a log with a new key; Close stops it.
func NewRekor() (*Rekor, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	s, err := signature.LoadECDSASigner(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	r := &Rekor{signer: s, key: key, logID: id[:]}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+rekorEntriesPath, r.serve)
	r.srv = httptest.NewServer(mux)
	return r, nil
}

// URL is the log's base URL.
func (r *Rekor) URL() string { return r.srv.URL }

// Close stops the server.
func (r *Rekor) Close() { r.srv.Close() }

// Log is the log as a trusted root lists it.
func (r *Rekor) Log() *root.TransparencyLog {
	return &root.TransparencyLog{BaseURL: r.srv.URL, ID: r.logID, HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256,
		PublicKey: r.key.Public(), ValidityPeriodStart: time.Now().Add(-time.Hour)}
}

// logEntry is an entry as Rekor's API answers it.
type logEntry struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"`
	LogIndex       int64  `json:"logIndex"`
	Verification   struct {
		SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
	} `json:"verification"`
}

// serve logs one proposed entry.
func (r *Rekor) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		http.Error(w, "not a proposed entry: "+err.Error(), http.StatusBadRequest)
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	canonical, err := types.CanonicalizeEntry(req.Context(), entry)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	index := r.index
	r.index++
	r.mu.Unlock()
	e := logEntry{Body: base64.StdEncoding.EncodeToString(canonical), IntegratedTime: time.Now().Unix(),
		LogID: hex.EncodeToString(r.logID), LogIndex: index}
	// The promise: the log's signature over the canonical JSON of what it logged.
	payload, err := canonicalJSON(tlog.RekorPayload{Body: e.Body, IntegratedTime: e.IntegratedTime, LogIndex: e.LogIndex, LogID: e.LogID})
	if err == nil {
		e.Verification.SignedEntryTimestamp, err = r.signer.SignMessage(bytes.NewReader(payload))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	leaf := sha256.Sum256(append([]byte{0}, canonical...)) // RFC 6962 leaf hash: the entry's UUID
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]logEntry{hex.EncodeToString(leaf[:]): e})
}

// canonicalJSON is v as RFC 8785 canonical JSON, as Rekor signs it.
func canonicalJSON(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsoncanonicalizer.Transform(data)
}

// LogSignature logs, at the Rekor at url, a hashedrekord entry of sig (a
// signature of payload by certPEM's key), as cosign does, and returns the
// entry as cosign records it in its bundle annotation.
func LogSignature(url string, payload, sig, certPEM []byte) (string, error) {
	sum := sha256.Sum256(payload)
	pe, err := types.NewProposedEntry(context.Background(), "hashedrekord", "0.0.1", types.ArtifactProperties{
		ArtifactHash: hex.EncodeToString(sum[:]), SignatureBytes: sig, PublicKeyBytes: [][]byte{certPEM}, PKIFormat: "x509"})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(pe)
	if err != nil {
		return "", err
	}
	resp, err := http.Post(url+rekorEntriesPath, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("rekor: %s: %s", resp.Status, data)
	}
	var entries map[string]logEntry
	if err := json.Unmarshal(data, &entries); err != nil || len(entries) != 1 {
		return "", fmt.Errorf("rekor answered %s", data)
	}
	var b rekorBundle
	for _, e := range entries {
		b.SignedEntryTimestamp = e.Verification.SignedEntryTimestamp
		b.Payload.Body, b.Payload.IntegratedTime, b.Payload.LogIndex, b.Payload.LogID = e.Body, e.IntegratedTime, e.LogIndex, e.LogID
	}
	out, err := json.Marshal(b)
	return string(out), err
}

// rekorBundle is cosign's record of a log entry (its bundle annotation).
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}
