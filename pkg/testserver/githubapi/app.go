package githubapi

import (
	"crypto/rsa"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// app is a GitHub App that may create installation tokens.
type app struct {
	id, installation int64
	key              *rsa.PublicKey
	token            string
}

// EnableApp registers GitHub App appID, whose private key pairs with key:
// POST /app/installations/{installationID}/access_tokens with a JWT the
// app signed (RS256, issuer appID, unexpired) answers 201 with token.
func (s *Server) EnableApp(appID, installationID int64, key *rsa.PublicKey, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app = &app{id: appID, installation: installationID, key: key, token: token}
}

// appToken answers the installation access token request; GitHub
// authenticates it with the app's JWT, not a user token.
func (s *Server) appToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.app
	s.mu.Unlock()
	if a == nil || r.PathValue("id") != strconv.FormatInt(a.installation, 10) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	_, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return a.key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(strconv.FormatInt(a.id, 10)), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil {
		writeError(w, http.StatusUnauthorized, "'Issuer' claim ('iss') must be an Integer")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": a.token, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
}
