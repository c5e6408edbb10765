package testserver

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"gotk.dev/pkg/localserver"
)

// S3Options configures an S3 server.
type S3Options struct {
	// AccessKey and SecretKey, when set, are required: every request must
	// carry an AWS Signature Version 4 made with them.
	AccessKey, SecretKey string
	// Region, when set, is the region the server is in, as in AWS: a
	// request signed for another region is refused with
	// AuthorizationHeaderMalformed naming the expected region, and
	// GetBucketLocation answers it (whatever region signed it).
	Region string
}

// S3 is an S3-compatible object store on loopback (gofakes3 over an
// in-memory backend), checking SigV4 signatures when keys are set.
type S3 struct {
	backend *s3mem.Backend
	srv     *localserver.HTTPServer
	opts    S3Options

	mu      sync.Mutex
	regions []string
}

// NewS3 starts an S3 server on 127.0.0.1 at a random port.
func NewS3(opts S3Options) (*S3, error) {
	s := &S3{backend: s3mem.New(), opts: opts}
	faker := gofakes3.New(s.backend)
	var err error
	if s.srv, err = localserver.StartHTTP(s.authenticate(s.locate(faker.Server())), false); err != nil {
		return nil, err
	}
	return s, nil
}

// NewS3ForTest is NewS3 closed when the test ends.
func NewS3ForTest(t testing.TB, opts S3Options) *S3 {
	t.Helper()
	s, err := NewS3(opts)
	return forTest(t, s, err)
}

// Endpoint is "127.0.0.1:port", as a Bucket's spec.endpoint (with insecure).
func (s *S3) Endpoint() string { return strings.TrimPrefix(s.srv.URL, "http://") }

// CreateBucket makes an empty bucket.
func (s *S3) CreateBucket(name string) error { return s.backend.CreateBucket(name) }

// PutObject stores content under key.
func (s *S3) PutObject(bucket, key, content string) error {
	meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat), "Content-Type": "application/octet-stream"}
	_, err := s.backend.PutObject(bucket, key, meta, bytes.NewReader([]byte(content)), int64(len(content)), nil)
	return err
}

// DeleteObject removes key.
func (s *S3) DeleteObject(bucket, key string) error {
	_, err := s.backend.DeleteObject(bucket, key)
	return err
}

// Close stops the server.
func (s *S3) Close() { s.srv.Close() }

// SigningRegions lists, in order, the region in the SigV4 credential
// scope of each signed request the server received.
func (s *S3) SigningRegions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.regions...)
}

// locate records each signed request's region and, with a Region
// configured, answers GetBucketLocation and refuses requests signed for
// another region, as AWS S3 does.
func (s *S3) locate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		region := sigV4Region(r)
		if region != "" {
			s.mu.Lock()
			s.regions = append(s.regions, region)
			s.mu.Unlock()
		}
		want := s.opts.Region
		switch {
		case want == "" || region == "":
		case r.Method == http.MethodGet && r.URL.Query().Has("location"):
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LocationConstraint>`, want)
			return
		case region != want:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code>`+
				`<Message>The authorization header is malformed; the region '%s' is wrong; expecting '%s'</Message><Region>%s</Region></Error>`,
				region, want, want)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sigV4Region is the region of r's SigV4 credential scope
// (key/date/region/service/aws4_request), "" when r is not signed.
func sigV4Region(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
			if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "Credential" {
				cred = v
			}
		}
	}
	if scope := strings.Split(cred, "/"); len(scope) == 5 {
		return scope[2]
	}
	return ""
}

// authenticate refuses requests without a valid SigV4 signature made with
// the configured keys (when any are configured).
func (s *S3) authenticate(next http.Handler) http.Handler {
	if s.opts.AccessKey == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verifySigV4(r, s.opts.AccessKey, s.opts.SecretKey); err != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>`, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verifySigV4 recomputes the request's AWS Signature Version 4.
func verifySigV4(r *http.Request, accessKey, secretKey string) error {
	auth := r.Header.Get("Authorization")
	const prefix = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, prefix) {
		return fmt.Errorf("missing AWS4-HMAC-SHA256 authorization")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, prefix), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != accessKey {
		return fmt.Errorf("unknown access key")
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canonHeaders strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canonHeaders.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "UNSIGNED-PAYLOAD"
	}
	canonical := strings.Join([]string{r.Method, escapePath(r.URL.EscapedPath()), canonicalQuery(r.URL.Query()),
		canonHeaders.String(), fields["SignedHeaders"], payload}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{"AWS4-HMAC-SHA256", r.Header.Get("X-Amz-Date"), strings.Join(scope[1:], "/"),
		hex.EncodeToString(sum[:])}, "\n")
	key := []byte("AWS4" + secretKey)
	for _, s := range scope[1:] {
		key = hmacSHA256(key, s)
	}
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return fmt.Errorf("signature does not match")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string{}, q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, sigEscape(k)+"="+sigEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func escapePath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// sigEscape is SigV4's URI encoding: unreserved characters stay, the rest %XX.
func sigEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
