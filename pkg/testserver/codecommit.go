package testserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CodeCommitRegion is the region CodeCommitAuth verifies signatures for:
// the test server is not at a git-codecommit.<region> host, so clients
// sign for their configured region (AWS_REGION), which tests set to it.
const CodeCommitRegion = "us-east-1"

// CodeCommitAuth is a GitHTTPOptions.Wrap that takes, like AWS CodeCommit,
// only HTTPS Git credentials signed from IAM credentials: user
// <access key ID>[%<session token>], password
// <YYYYMMDDTHHMMSS>Z<SigV4 signature of "GIT\n<repo path>\n\nhost:<host>\n\nhost\n"
// for service codecommit in CodeCommitRegion>. The signature is
// recomputed with the secret of a key CloudTokens knows (CloudAWSAccessKey,
// or CloudAWSSTSAccessKey with its session token); timestamps more than
// 15 minutes off are refused. Refusals are 403, as CodeCommit's.
type CodeCommitAuth struct {
	mu    sync.Mutex
	users []string
}

// Wrap verifies each request's credentials before next serves it.
func (c *CodeCommitAuth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="codecommit"`)
			http.Error(w, "credentials required", http.StatusUnauthorized)
			return
		}
		if !codeCommitValid(user, pass, r.Host, repoPath(r.URL.Path), time.Now()) {
			http.Error(w, "the signature does not match", http.StatusForbidden)
			return
		}
		c.mu.Lock()
		c.users = append(c.users, strings.SplitN(user, "%", 2)[0])
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// AccessKeys are the access key IDs of the requests let through, in order.
func (c *CodeCommitAuth) AccessKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.users...)
}

// repoPath is the repository's path of a smart-HTTP request path, the
// path the client signs.
func repoPath(p string) string {
	for _, suffix := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		if s, ok := strings.CutSuffix(p, suffix); ok {
			return s
		}
	}
	return p
}

// codeCommitValid recomputes the password's signature with the secret of
// user's access key and compares.
func codeCommitValid(user, pass, host, path string, now time.Time) bool {
	key, token, _ := strings.Cut(user, "%")
	secret, ok := awsSecrets[key]
	if !ok || (key == CloudAWSSTSAccessKey) != (token == "session") {
		return false
	}
	stamp, sig, ok := strings.Cut(pass, "Z")
	t, err := time.Parse("20060102T150405", stamp)
	if !ok || err != nil || now.Sub(t).Abs() > 15*time.Minute {
		return false
	}
	canonical := sha256.Sum256([]byte("GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"))
	scope := t.Format("20060102") + "/" + CodeCommitRegion + "/codecommit/aws4_request"
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	k := mac(mac(mac(mac([]byte("AWS4"+secret), t.Format("20060102")), CodeCommitRegion), "codecommit"), "aws4_request")
	want := mac(k, "AWS4-HMAC-SHA256\n"+stamp+"\n"+scope+"\n"+hex.EncodeToString(canonical[:]))
	got, err := hex.DecodeString(sig)
	return err == nil && hmac.Equal(got, want)
}
