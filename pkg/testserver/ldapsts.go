package testserver

import (
	"encoding/pem"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// LDAPSTSOptions configures an LDAP STS server.
type LDAPSTSOptions struct {
	// Username and Password are the LDAP identity accepted.
	Username, Password string
	// AccessKey and SecretKey are the temporary S3 keys handed out.
	AccessKey, SecretKey string
	// TLS serves HTTPS (with httptest's certificate, see CAPEM).
	TLS bool
}

// LDAPSTS is MinIO's Security Token Service for LDAP identities on
// loopback: AssumeRoleWithLDAPIdentity (STS query protocol) exchanges the
// configured username and password for the configured S3 keys.
type LDAPSTS struct {
	// URL is the STS endpoint, as a Bucket's spec.sts.endpoint.
	URL string
	// CAPEM is the server certificate (PEM) when TLS is set.
	CAPEM []byte

	srv   *httptest.Server
	opts  LDAPSTSOptions
	mu    sync.Mutex
	users []string
}

// NewLDAPSTS starts the server on 127.0.0.1 at a random port.
func NewLDAPSTS(opts LDAPSTSOptions) (*LDAPSTS, error) {
	s := &LDAPSTS{opts: opts}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if opts.TLS {
		s.srv.StartTLS()
		s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	return s, nil
}

// NewLDAPSTSForTest is NewLDAPSTS closed when the test ends.
func NewLDAPSTSForTest(t testing.TB, opts LDAPSTSOptions) *LDAPSTS {
	t.Helper()
	s, err := NewLDAPSTS(opts)
	return forTest(t, s, err)
}

// Close stops the server.
func (s *LDAPSTS) Close() { s.srv.Close() }

// Users returns the usernames whose credentials were exchanged.
func (s *LDAPSTS) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...)
}

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

func (s *LDAPSTS) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.Form.Get("Action") != "AssumeRoleWithLDAPIdentity" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<ErrorResponse xmlns="` + stsNamespace + `"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unsupported action</Message></Error></ErrorResponse>`))
		return
	}
	if r.Form.Get("LDAPUsername") != s.opts.Username || r.Form.Get("LDAPPassword") != s.opts.Password {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse xmlns="` + stsNamespace + `"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Access denied: LDAP credentials are invalid</Message></Error></ErrorResponse>`))
		return
	}
	s.mu.Lock()
	s.users = append(s.users, r.Form.Get("LDAPUsername"))
	s.mu.Unlock()
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type response struct {
		XMLName xml.Name `xml:"AssumeRoleWithLDAPIdentityResponse"`
		XMLNS   string   `xml:"xmlns,attr"`
		Result  struct {
			Credentials creds `xml:"Credentials"`
		} `xml:"AssumeRoleWithLDAPIdentityResult"`
	}
	out := response{XMLNS: stsNamespace}
	out.Result.Credentials = creds{AccessKeyID: s.opts.AccessKey, SecretAccessKey: s.opts.SecretKey, SessionToken: "ldap-session",
		Expiration: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	_ = xml.NewEncoder(w).Encode(out)
}
