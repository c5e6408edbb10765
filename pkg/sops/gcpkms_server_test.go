package sops

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// gcpKeyName is the one key the GCP KMS test server holds.
const gcpKeyName = "projects/test/locations/global/keyRings/sops/cryptoKeys/sops"

// gcpServer is an in-process gRPC KeyManagementService (Encrypt and
// Decrypt of one key) over TLS, beside an OAuth token endpoint. It
// records the identity of each call: the issuer of a self-signed JWT or
// the account a token was issued to.
type gcpServer struct {
	kmspb.UnimplementedKeyManagementServiceServer

	// Options make a client reach and trust the server.
	Options  []option.ClientOption
	TokenURL string

	mu     sync.Mutex
	seen   []string
	issued map[string]string // access token → account
}

func startGCPKMS(t *testing.T) *gcpServer {
	t.Helper()
	s := &gcpServer{issued: map[string]string{}}
	// The token endpoint for credentials that exchange a JWT for a token.
	tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		account := jwtClaim(r.Form.Get("assertion"), "iss")
		token := fmt.Sprintf("ya29.token-%d", len(s.issued))
		s.mu.Lock()
		s.issued[token] = account
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(tok.Close)
	s.TokenURL = tok.URL

	// A TLS certificate for 127.0.0.1: gRPC sends credentials only over TLS.
	tlsSrv := httptest.NewUnstartedServer(nil)
	tlsSrv.StartTLS()
	cfg := tlsSrv.TLS.Clone()
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	tlsSrv.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	kmspb.RegisterKeyManagementServiceServer(gs, s)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	s.Options = []option.ClientOption{
		option.WithEndpoint(lis.Addr().String()),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))),
	}
	return s
}

// identity returns who made a call, from its bearer token.
func (s *gcpServer) identity(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
		return "", status.Error(codes.Unauthenticated, "no bearer token")
	}
	token := strings.TrimPrefix(auth[0], "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	who, ok := s.issued[token]
	if !ok {
		who = jwtClaim(token, "iss")
	}
	if who == "" {
		return "", status.Error(codes.Unauthenticated, "unknown token")
	}
	s.seen = append(s.seen, who)
	return who, nil
}

// callers returns the identities seen since the last call.
func (s *gcpServer) callers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.seen
	s.seen = nil
	return c
}

// Encrypt "encrypts" by prefixing: the test is about the client and its
// credentials, not the server's cryptography.
func (s *gcpServer) Encrypt(ctx context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	if _, err := s.identity(ctx); err != nil {
		return nil, err
	}
	if req.GetName() != gcpKeyName {
		return nil, status.Errorf(codes.NotFound, "key %s not found", req.GetName())
	}
	return &kmspb.EncryptResponse{Name: gcpKeyName, Ciphertext: append([]byte("gcp:"), req.GetPlaintext()...)}, nil
}

// Decrypt reverses Encrypt.
func (s *gcpServer) Decrypt(ctx context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	if _, err := s.identity(ctx); err != nil {
		return nil, err
	}
	pt, ok := strings.CutPrefix(string(req.GetCiphertext()), "gcp:")
	if req.GetName() != gcpKeyName || !ok {
		return nil, status.Error(codes.InvalidArgument, "ciphertext is invalid")
	}
	return &kmspb.DecryptResponse{Plaintext: []byte(pt)}, nil
}

// serviceAccountJSON returns a service account key file for email whose
// tokens come from the server's token endpoint.
func (s *gcpServer) serviceAccountJSON(t *testing.T, email string) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "test", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1", "token_uri": s.TokenURL,
	})
	return b
}

// jwtClaim reads a claim of a JWT without verifying it (the test server
// only tells callers apart).
func jwtClaim(token, claim string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c map[string]any
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	v, _ := c[claim].(string)
	return v
}
