package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// vaultToken is the only token the Vault test server accepts.
const vaultToken = "hvs.test-token"

// startVault serves Vault's transit encrypt and decrypt API (the paths
// and JSON the SOPS Vault key source uses) for one key, "sops", under
// the "transit" engine, with a key of its own.
func startVault(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	fail := func(w http.ResponseWriter, code int, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != vaultToken {
			fail(w, http.StatusForbidden, "permission denied")
			return
		}
		var in struct{ Plaintext, Ciphertext string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail(w, http.StatusBadRequest, "bad JSON")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/transit/encrypt/sops":
			pt, err := base64.StdEncoding.DecodeString(in.Plaintext)
			if err != nil {
				fail(w, http.StatusBadRequest, "plaintext is not base64")
				return
			}
			nonce := make([]byte, gcm.NonceSize())
			_, _ = rand.Read(nonce)
			ct := "vault:v1:" + base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, pt, nil))
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"ciphertext": ct}})
		case "/v1/transit/decrypt/sops":
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(in.Ciphertext, "vault:v1:"))
			if err != nil || len(raw) < gcm.NonceSize() {
				fail(w, http.StatusBadRequest, "invalid ciphertext")
				return
			}
			pt, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
			if err != nil {
				fail(w, http.StatusBadRequest, "cipher: message authentication failed")
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"plaintext": base64.StdEncoding.EncodeToString(pt)}})
		default:
			fail(w, http.StatusNotFound, "no handler for route "+r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
