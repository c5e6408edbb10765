package sops

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	localkms "github.com/nsmithuk/local-kms/src"
	lkconfig "github.com/nsmithuk/local-kms/src/config"
	lkdata "github.com/nsmithuk/local-kms/src/data"
)

// kmsServer is local-kms (an AWS KMS emulator) in an HTTP test server,
// with an STS AssumeRoleWithWebIdentity endpoint beside it for the web
// identity credential chain. It records the access key of each request.
type kmsServer struct {
	URL string
	Arn string

	mu   sync.Mutex
	keys []string
}

var accessKeyOf = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

// stsAccessKey is the access key STS hands out for a web identity.
const stsAccessKey = "ASIAWEBIDENTITY"

func startKMS(t *testing.T) *kmsServer {
	t.Helper()
	lkconfig.AWSRegion = "eu-west-1"
	lkconfig.AWSAccountId = "111122223333"
	db := lkdata.NewDatabase(t.TempDir())
	s := &kmsServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := accessKeyOf.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			s.mu.Lock()
			s.keys = append(s.keys, m[1])
			s.mu.Unlock()
		}
		if r.Header.Get("X-Amz-Target") == "" { // STS speaks the query protocol
			stsAssumeRole(w, r)
			return
		}
		localkms.HandleRequest(w, r, db)
	}))
	t.Cleanup(func() { srv.Close(); db.Close() })
	s.URL = srv.URL
	c := awskms.New(awskms.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIASETUP", "setup", "")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.CreateKey(ctx, &awskms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.Arn = aws.ToString(out.KeyMetadata.Arn)
	return s
}

// accessKeys returns the access keys seen since the last call.
func (s *kmsServer) accessKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys
	s.keys = nil
	return k
}

// stsAssumeRole answers AssumeRoleWithWebIdentity when the request
// carries the web identity token the test wrote.
func stsAssumeRole(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || r.Form.Get("WebIdentityToken") != "web-identity-token" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>bad web identity</Message></Error></ErrorResponse>`))
		return
	}
	type creds struct {
		AccessKeyId     string
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type result struct {
		Credentials creds
	}
	type response struct {
		XMLName xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
		Result  result   `xml:"AssumeRoleWithWebIdentityResult"`
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(response{Result: result{Credentials: creds{
		AccessKeyId: stsAccessKey, SecretAccessKey: "web", SessionToken: "session",
		Expiration: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}})
}
