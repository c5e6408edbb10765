package testserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// awsSecrets are the secret keys of the access keys STS and ECR know.
var awsSecrets = map[string]string{CloudAWSAccessKey: CloudAWSSecretKey, CloudAWSSTSAccessKey: "web"}

// presignedValid reports whether r, a presigned GET, carries the SigV4
// signature of its URL and signed headers with a known key: r is signed
// again with the same key, time and scope and the signatures compared,
// so a token bound to another cluster (x-k8s-aws-id) does not pass.
func presignedValid(r *http.Request) bool {
	q := r.URL.Query()
	scope := strings.Split(q.Get("X-Amz-Credential"), "/") // key/date/region/service/aws4_request
	if len(scope) != 5 {
		return false
	}
	secret, ok := awsSecrets[scope[0]]
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if !ok || err != nil {
		return false
	}
	want := q.Get("X-Amz-Signature")
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Security-Token"} {
		q.Del(k)
	}
	u := *r.URL
	u.Scheme, u.Host, u.RawQuery = "https", r.Host, q.Encode()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	for _, h := range strings.Split(r.URL.Query().Get("X-Amz-SignedHeaders"), ";") {
		if h != "host" {
			req.Header.Set(h, r.Header.Get(h))
		}
	}
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: r.URL.Query().Get("X-Amz-Security-Token")}
	empty := sha256.Sum256(nil)
	for _, payload := range []string{hex.EncodeToString(empty[:]), "UNSIGNED-PAYLOAD"} {
		got, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payload, scope[3], scope[2], signed)
		if err != nil {
			continue
		}
		if gu, err := url.Parse(got); err == nil && gu.Query().Get("X-Amz-Signature") == want {
			return true
		}
	}
	return false
}
