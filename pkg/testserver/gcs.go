package testserver

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GCSOptions configures a GCS server.
type GCSOptions struct {
	// Tokens are bearer access tokens accepted besides those the server's
	// own token endpoint hands out (e.g. the metadata server's token).
	Tokens []string
	// PageSize is the most objects one list page holds (default 2, so
	// that listing pages through nextPageToken).
	PageSize int
}

// GCS speaks the parts of the Google Cloud Storage JSON API a bucket
// reader uses (bucket get, object list with prefix and pagination, object
// media by JSON and XML paths) on loopback, plus an OAuth2 token endpoint
// for service account keys: every request needs a bearer token the
// server handed out or was given.
type GCS struct {
	srv  *httptest.Server
	opts GCSOptions
	key  *rsa.PrivateKey

	mu      sync.Mutex
	tokens  map[string]bool
	buckets map[string]map[string]string
	calls   []string
}

// NewGCS starts a GCS server on 127.0.0.1 at a random port.
func NewGCS(opts GCSOptions) (*GCS, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2
	}
	g := &GCS{opts: opts, key: key, tokens: map[string]bool{}, buckets: map[string]map[string]string{}}
	for _, t := range opts.Tokens {
		g.tokens[t] = true
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	return g, nil
}

// NewGCSForTest is NewGCS closed when the test ends.
func NewGCSForTest(t testing.TB, opts GCSOptions) *GCS {
	t.Helper()
	g, err := NewGCS(opts)
	return forTest(t, g, err)
}

// Endpoint is "127.0.0.1:port", as a Bucket's spec.endpoint (with insecure).
func (g *GCS) Endpoint() string { return strings.TrimPrefix(g.srv.URL, "http://") }

// Close stops the server.
func (g *GCS) Close() { g.srv.Close() }

// CreateBucket makes an empty bucket.
func (g *GCS) CreateBucket(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buckets[name] = map[string]string{}
}

// PutObject stores content under key, creating the bucket if needed.
func (g *GCS) PutObject(bucket, key, content string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.buckets[bucket] == nil {
		g.buckets[bucket] = map[string]string{}
	}
	g.buckets[bucket][key] = content
}

// Calls returns the API calls answered so far: "token:<email>" for a
// service account key exchanged, "list:<bucket>" for each object page.
func (g *GCS) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

// ServiceAccountJSON is a service account key file for email whose token
// endpoint is this server, which accepts its signed assertions.
func (g *GCS) ServiceAccountJSON(email string) []byte {
	return serviceAccountJSON(g.key, email, g.srv.URL+"/token")
}

// UnknownServiceAccountJSON is a well-formed key file whose key this
// server does not know: its token requests are refused.
func (g *GCS) UnknownServiceAccountJSON(email string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return serviceAccountJSON(key, email, g.srv.URL+"/token")
}

func serviceAccountJSON(key *rsa.PrivateKey, email, tokenURI string) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	out, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "project", "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1", "token_uri": tokenURI,
	})
	return out
}

func (g *GCS) record(call string) {
	g.mu.Lock()
	g.calls = append(g.calls, call)
	g.mu.Unlock()
}

func (g *GCS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		g.token(w, r)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !g.accepts(tok) {
		gcsError(w, http.StatusUnauthorized, "Invalid Credentials")
		return
	}
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/storage/v1/b/") || strings.HasPrefix(path, "/download/storage/v1/b/"):
		g.jsonAPI(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "/download"), "/storage/v1/b/"))
	default:
		// The XML API's object reads: /<bucket>/<object>.
		bucket, object, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		g.media(w, bucket, unescape(object))
	}
}

// accepts reports a token handed out or given, or a self-signed JWT of
// the server's key.
func (g *GCS) accepts(tok string) bool {
	g.mu.Lock()
	known := g.tokens[tok]
	g.mu.Unlock()
	if known {
		return true
	}
	_, err := verifyRS256(tok, &g.key.PublicKey)
	return err == nil
}

// token answers the JWT bearer grant of a service account key.
func (g *GCS) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = r.ParseForm()
	claims, err := verifyRS256(r.Form.Get("assertion"), &g.key.PublicKey)
	if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		return
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok := "gcs." + hex.EncodeToString(b)
	g.mu.Lock()
	g.tokens[tok] = true
	g.mu.Unlock()
	g.record(fmt.Sprintf("token:%v", claims["iss"]))
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

func (g *GCS) jsonAPI(w http.ResponseWriter, r *http.Request, rest string) {
	bucket, sub, _ := strings.Cut(rest, "/")
	bucket = unescape(bucket)
	g.mu.Lock()
	objects, ok := g.buckets[bucket]
	g.mu.Unlock()
	if !ok {
		gcsError(w, http.StatusNotFound, "The specified bucket does not exist.")
		return
	}
	switch {
	case sub == "":
		writeJSON(w, map[string]any{"kind": "storage#bucket", "id": bucket, "name": bucket, "location": "EU", "storageClass": "STANDARD"})
	case sub == "o":
		g.list(w, r, bucket, objects)
	case strings.HasPrefix(sub, "o/") && r.URL.Query().Get("alt") == "media":
		g.media(w, bucket, unescape(strings.TrimPrefix(sub, "o/")))
	case strings.HasPrefix(sub, "o/"):
		name := unescape(strings.TrimPrefix(sub, "o/"))
		g.mu.Lock()
		content, found := objects[name]
		g.mu.Unlock()
		if !found {
			gcsError(w, http.StatusNotFound, "No such object: "+bucket+"/"+name)
			return
		}
		writeJSON(w, gcsObject(bucket, name, content))
	default:
		gcsError(w, http.StatusNotFound, "not found")
	}
}

// list answers a page of objects under prefix, sorted by name; the page
// token is the last name of the page before.
func (g *GCS) list(w http.ResponseWriter, r *http.Request, bucket string, objects map[string]string) {
	q := r.URL.Query()
	prefix, after := q.Get("prefix"), q.Get("pageToken")
	size := g.opts.PageSize
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n > 0 && n < size {
		size = n
	}
	g.mu.Lock()
	var names []string
	for name := range objects {
		if strings.HasPrefix(name, prefix) && name > after {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := map[string]any{"kind": "storage#objects"}
	if len(names) > size {
		names = names[:size]
		out["nextPageToken"] = names[size-1]
	}
	items := []any{}
	for _, name := range names {
		items = append(items, gcsObject(bucket, name, objects[name]))
	}
	g.mu.Unlock()
	out["items"] = items
	g.record("list:" + bucket)
	writeJSON(w, out)
}

func (g *GCS) media(w http.ResponseWriter, bucket, name string) {
	g.mu.Lock()
	content, ok := g.buckets[bucket][name]
	g.mu.Unlock()
	if !ok {
		gcsError(w, http.StatusNotFound, "No such object: "+bucket+"/"+name)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Header().Set("ETag", `"`+contentETag(content)+`"`)
	w.Header().Set("X-Goog-Generation", "1")
	w.Header().Set("X-Goog-Metageneration", "1")
	w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	_, _ = w.Write([]byte(content))
}

func gcsObject(bucket, name, content string) map[string]any {
	return map[string]any{"kind": "storage#object", "bucket": bucket, "name": name, "id": bucket + "/" + name + "/1",
		"size": strconv.Itoa(len(content)), "etag": contentETag(content), "generation": "1", "metageneration": "1",
		"contentType": "application/octet-stream", "updated": time.Now().UTC().Format(time.RFC3339)}
}

func contentETag(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:8])
}

func gcsError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"errors": []any{map[string]string{"message": msg, "reason": http.StatusText(code)}}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// verifyRS256 checks a JWT's RS256 signature with pub and returns its
// claims.
func verifyRS256(tok string, pub *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	claims := map[string]any{}
	return claims, json.Unmarshal(payload, &claims)
}
