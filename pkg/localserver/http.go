// Package localserver runs the real protocol servers that gotk's local
// commands ship with (`gotk dev` serves a directory as a Git repository):
// Git over smart HTTP through the git CLI's own `git http-backend`, on a
// directory of bare repositories that it can seed from a local directory.
//
// Every server listens on 127.0.0.1 at a random port, is built by a
// constructor returning an error (never a panic or a test failure) and is
// stopped by Close. The package imports neither package testing nor
// net/http/httptest: it is linked into the gotk binary. The test layer,
// gotk.dev/pkg/testserver, re-exports these servers, adds *ForTest
// constructors taking a testing.TB and the servers only tests need (OCI
// registry, Helm repository, S3, webhook sink, Git over SSH).
package localserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
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

// RequireBasicAuth wraps h so that requests without the expected
// credentials get 401 with a Basic challenge for realm. When auth is
// disabled h is returned as is.
func RequireBasicAuth(h http.Handler, auth BasicAuth, realm string) http.Handler {
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

// HTTPServer is an HTTP or HTTPS server on 127.0.0.1 at a random port.
type HTTPServer struct {
	// URL is the base URL, e.g. http://127.0.0.1:34567 (no trailing slash).
	URL string
	// CAPEM is the PEM certificate of the CA that signed the serving
	// certificate, or nil without TLS.
	CAPEM []byte

	srv    *http.Server
	client *http.Client
	done   chan struct{}
}

// StartHTTP serves h on 127.0.0.1 at a random port, over HTTPS with a
// certificate from a freshly generated CA when useTLS is set. Only
// HTTP/1.1 is offered: git http-backend, behind net/http/cgi, needs a
// request's length or its chunked encoding, which HTTP/2 does not give.
func StartHTTP(h http.Handler, useTLS bool) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	s := &HTTPServer{
		srv:  &http.Server{Handler: h, Protocols: &protocols, ReadHeaderTimeout: 30 * time.Second},
		done: make(chan struct{}),
	}
	transport := &http.Transport{}
	if useTLS {
		cert, caPEM, err := newServerCert()
		if err != nil {
			ln.Close()
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		s.CAPEM = caPEM
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		s.URL = "https://" + ln.Addr().String()
	} else {
		s.URL = "http://" + ln.Addr().String()
	}
	s.client = &http.Client{Transport: transport}
	go func() {
		defer close(s.done)
		// Both return http.ErrServerClosed after Close.
		if useTLS {
			_ = s.srv.ServeTLS(ln, "", "")
		} else {
			_ = s.srv.Serve(ln)
		}
	}()
	return s, nil
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *HTTPServer) Client() *http.Client { return s.client }

// Close stops accepting connections and waits (up to 10 seconds, then
// cuts them) for requests in flight, so their files are no longer in use.
func (s *HTTPServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		_ = s.srv.Close()
	}
	<-s.done
	s.client.CloseIdleConnections()
}

// newServerCert generates a self-signed CA and a serving certificate signed
// by it, valid for 127.0.0.1, ::1 and localhost. It returns the serving
// certificate and the CA certificate PEM.
func newServerCert() (tls.Certificate, []byte, error) {
	now := time.Now()
	// A year: longer than any local session; a new server makes new ones.
	notAfter := now.Add(365 * 24 * time.Hour)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gotk local CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
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
		NotAfter:     notAfter,
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
