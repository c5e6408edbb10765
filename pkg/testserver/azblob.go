package testserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
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

// AzureBlobOptions configures an Azure Blob server.
type AzureBlobOptions struct {
	// Account is the storage account name (default "devstoreaccount1").
	Account string
	// AccountKey is the base64 Shared Key every SharedKey request must be
	// signed with.
	AccountKey string
	// SASSignature, when set, is the sig a request's SAS must carry.
	SASSignature string
	// Tokens are the bearer (Microsoft Entra) tokens accepted.
	Tokens []string
	// PageSize is the most blobs one list page holds (default 2, so that
	// listing pages through NextMarker).
	PageSize int
}

// AzureBlob speaks the parts of the Azure Blob Storage REST API a
// container reader uses (Get Container Properties, List Blobs with prefix
// and markers, Get Blob) on loopback, path-style as the Azurite emulator
// does (http://127.0.0.1:port/<account>/<container>/<blob>). A request
// needs a Shared Key signature made with the account key, a SAS with the
// configured signature, or an accepted bearer token.
type AzureBlob struct {
	srv  *httptest.Server
	opts AzureBlobOptions

	mu         sync.Mutex
	containers map[string]map[string]string
	auths      []string
}

// NewAzureBlob starts an Azure Blob server on 127.0.0.1 at a random port.
func NewAzureBlob(opts AzureBlobOptions) (*AzureBlob, error) {
	if opts.Account == "" {
		opts.Account = "devstoreaccount1"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2
	}
	if _, err := base64.StdEncoding.DecodeString(opts.AccountKey); err != nil {
		return nil, fmt.Errorf("account key is not base64: %w", err)
	}
	a := &AzureBlob{opts: opts, containers: map[string]map[string]string{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	return a, nil
}

// NewAzureBlobForTest is NewAzureBlob closed when the test ends.
func NewAzureBlobForTest(t testing.TB, opts AzureBlobOptions) *AzureBlob {
	t.Helper()
	a, err := NewAzureBlob(opts)
	return forTest(t, a, err)
}

// Endpoint is the account's blob service URL,
// "http://127.0.0.1:port/<account>", as a Bucket's spec.endpoint.
func (a *AzureBlob) Endpoint() string { return a.srv.URL + "/" + a.opts.Account }

// Close stops the server.
func (a *AzureBlob) Close() { a.srv.Close() }

// CreateContainer makes an empty container.
func (a *AzureBlob) CreateContainer(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.containers[name] = map[string]string{}
}

// PutBlob stores content under name, creating the container if needed.
func (a *AzureBlob) PutBlob(container, name, content string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.containers[container] == nil {
		a.containers[container] = map[string]string{}
	}
	a.containers[container][name] = content
}

// Auths returns how each accepted request authenticated: "sharedkey",
// "sas" or "bearer:<token>".
func (a *AzureBlob) Auths() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auths...)
}

func (a *AzureBlob) serve(w http.ResponseWriter, r *http.Request) {
	how, code, msg := a.authenticate(r)
	if code != "" {
		status := http.StatusForbidden
		if code == "NoAuthenticationInformation" || code == "InvalidAuthenticationInfo" {
			status = http.StatusUnauthorized
		}
		azError(w, status, code, msg)
		return
	}
	a.mu.Lock()
	a.auths = append(a.auths, how)
	a.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+a.opts.Account+"/")
	if !ok {
		azError(w, http.StatusBadRequest, "InvalidUri", "path-style URL /<account>/<container> expected")
		return
	}
	container, blob, _ := strings.Cut(rest, "/")
	a.mu.Lock()
	blobs, found := a.containers[container]
	a.mu.Unlock()
	if !found {
		azError(w, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	q := r.URL.Query()
	w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
	switch {
	case blob == "" && q.Get("restype") == "container" && q.Get("comp") == "list":
		a.list(w, q, container, blobs)
	case blob == "" && q.Get("restype") == "container":
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
	case blob != "":
		a.mu.Lock()
		content, ok := blobs[blob]
		a.mu.Unlock()
		if !ok {
			azError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"0x`+contentETag(content)+`"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		_, _ = w.Write([]byte(content))
	default:
		azError(w, http.StatusBadRequest, "UnsupportedQueryParameter", "unsupported request")
	}
}

type azBlobList struct {
	XMLName    xml.Name `xml:"EnumerationResults"`
	Endpoint   string   `xml:"ServiceEndpoint,attr"`
	Container  string   `xml:"ContainerName,attr"`
	Prefix     string   `xml:"Prefix"`
	Marker     string   `xml:"Marker"`
	MaxResults int      `xml:"MaxResults"`
	Blobs      []azBlob `xml:"Blobs>Blob"`
	NextMarker string   `xml:"NextMarker"`
}

type azBlob struct {
	Name       string `xml:"Name"`
	Properties struct {
		LastModified  string `xml:"Last-Modified"`
		ETag          string `xml:"Etag"`
		ContentLength int    `xml:"Content-Length"`
		ContentType   string `xml:"Content-Type"`
		BlobType      string `xml:"BlobType"`
	} `xml:"Properties"`
}

// list answers a page of blobs under prefix, sorted by name; the marker
// is the first name of the next page.
func (a *AzureBlob) list(w http.ResponseWriter, q url.Values, container string, blobs map[string]string) {
	prefix, marker := q.Get("prefix"), q.Get("marker")
	size := a.opts.PageSize
	if n, err := strconv.Atoi(q.Get("maxresults")); err == nil && n > 0 && n < size {
		size = n
	}
	a.mu.Lock()
	var names []string
	for name := range blobs {
		if strings.HasPrefix(name, prefix) && name >= marker {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := azBlobList{Endpoint: a.Endpoint() + "/", Container: container, Prefix: prefix, Marker: marker, MaxResults: size}
	if len(names) > size {
		out.NextMarker = names[size]
		names = names[:size]
	}
	for _, name := range names {
		var b azBlob
		b.Name = name
		b.Properties.LastModified = time.Now().UTC().Format(http.TimeFormat)
		b.Properties.ETag = "0x" + contentETag(blobs[name])
		b.Properties.ContentLength = len(blobs[name])
		b.Properties.ContentType = "application/octet-stream"
		b.Properties.BlobType = "BlockBlob"
		out.Blobs = append(out.Blobs, b)
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(out)
}

// authenticate returns how r authenticated, or an Azure error code and
// message.
func (a *AzureBlob) authenticate(r *http.Request) (how, code, msg string) {
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "SharedKey "):
		account, sig, _ := strings.Cut(strings.TrimPrefix(auth, "SharedKey "), ":")
		if account != a.opts.Account || !hmac.Equal([]byte(sig), []byte(a.sharedKeySignature(r))) {
			return "", "AuthenticationFailed", "The MAC signature found in the HTTP request is not the same as any computed signature."
		}
		return "sharedkey", "", ""
	case strings.HasPrefix(auth, "Bearer "):
		tok := strings.TrimPrefix(auth, "Bearer ")
		for _, t := range a.opts.Tokens {
			if t == tok {
				return "bearer:" + tok, "", ""
			}
		}
		return "", "InvalidAuthenticationInfo", "Server failed to authenticate the request: invalid token."
	case r.URL.Query().Get("sig") != "":
		if a.opts.SASSignature == "" || !hmac.Equal([]byte(r.URL.Query().Get("sig")), []byte(a.opts.SASSignature)) {
			return "", "AuthenticationFailed", "Signature did not match."
		}
		return "sas", "", ""
	}
	return "", "NoAuthenticationInformation", "Server failed to authenticate the request."
}

// sharedKeySignature is the Shared Key signature of r for the Blob
// service (versions 2009-09-19 and later).
func (a *AzureBlob) sharedKeySignature(r *http.Request) string {
	h := r.Header
	length := h.Get("Content-Length")
	if length == "0" {
		length = ""
	}
	var msHeaders []string
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-") {
			msHeaders = append(msHeaders, lk)
		}
	}
	sort.Strings(msHeaders)
	var canonHeaders []string
	for _, k := range msHeaders {
		canonHeaders = append(canonHeaders, k+":"+strings.Join(h.Values(k), ","))
	}
	resource := "/" + a.opts.Account + r.URL.EscapedPath()
	q := r.URL.Query()
	var params []string
	for k := range q {
		params = append(params, k)
	}
	sort.Strings(params)
	for _, k := range params {
		vals := append([]string{}, q[k]...)
		sort.Strings(vals)
		resource += "\n" + strings.ToLower(k) + ":" + strings.Join(vals, ",")
	}
	toSign := strings.Join([]string{r.Method, h.Get("Content-Encoding"), h.Get("Content-Language"), length,
		h.Get("Content-MD5"), h.Get("Content-Type"), "", h.Get("If-Modified-Since"), h.Get("If-Match"),
		h.Get("If-None-Match"), h.Get("If-Unmodified-Since"), h.Get("Range"), strings.Join(canonHeaders, "\n"), resource}, "\n")
	key, _ := base64.StdEncoding.DecodeString(a.opts.AccountKey)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func azError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `%s<Error><Code>%s</Code><Message>%s</Message></Error>`, xml.Header, code, msg)
}
