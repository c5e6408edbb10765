// Package testserver provides real protocol servers on loopback for tests
// and for `gotk dev`: Git over smart HTTP (git http-backend) and SSH, an OCI
// registry, a Helm chart repository, a tarball artifact server and a webhook
// sink that records requests.
//
// Every server listens on 127.0.0.1 with a random port. Each has a
// constructor returning (*Server, error) with a Close method, usable outside
// tests, and a thin NewXForTest(t) wrapper that fails the test on error and
// registers Close with t.Cleanup.
package testserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BasicAuth is a username/password pair. A zero BasicAuth disables
// authentication.
type BasicAuth struct {
	Username string
	Password string
}

// Enabled reports whether credentials are configured.
func (a BasicAuth) Enabled() bool { return a.Username != "" || a.Password != "" }

// requireBasicAuth wraps h so that requests without the expected credentials
// get 401 with a Basic challenge. When auth is disabled h is returned as is.
func requireBasicAuth(h http.Handler, auth BasicAuth, realm string) http.Handler {
	if !auth.Enabled() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		userOK := subtle.ConstantTimeCompare([]byte(u), []byte(auth.Username)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(p), []byte(auth.Password)) == 1
		if !ok || !userOK || !passOK {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", realm))
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startHTTP starts h on 127.0.0.1 at a random port, with TLS from a freshly
// generated CA when useTLS is set. It returns the server and the CA
// certificate PEM (nil without TLS).
func startHTTP(h http.Handler, useTLS bool) (*httptest.Server, []byte, error) {
	srv := httptest.NewUnstartedServer(h)
	if !useTLS {
		srv.Start()
		return srv, nil, nil
	}
	cert, caPEM, err := newServerCert()
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	return srv, caPEM, nil
}

// newServerCert generates a self-signed CA and a serving certificate signed
// by it, valid for 127.0.0.1, ::1 and localhost. It returns the serving
// certificate and the CA certificate PEM.
func newServerCert() (tls.Certificate, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gotk testserver CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caPEM, nil
}

// forTest fails t when err is set and registers closer with t.Cleanup.
func forTest[T interface{ Close() }](t testing.TB, s T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
