package testserver

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Static cloud credentials CloudTokens checks, as the services document
// them: a Google service account key exchanged at Google's OAuth2 token
// endpoint (the JWT-bearer grant, RFC 7523), and an Entra JWT for Event
// Hubs kept in a Secret.
const (
	// CloudGoogleTokenURI is the token_uri of the service account keys
	// GoogleServiceAccountKey writes; CloudTokens.Client reaches it.
	CloudGoogleTokenURI = "https://oauth2.googleapis.com/token"
	// CloudEventHubsAudience is the audience an Entra token for Event
	// Hubs carries.
	CloudEventHubsAudience = "https://eventhubs.azure.net"
)

// signer is the private key whose public half CloudTokens trusts for
// service account key assertions and the Entra JWTs it issues; made once.
func (c *CloudTokens) signer() *rsa.PrivateKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		c.key = key
	}
	return c.key
}

// GoogleServiceAccountKey is a service account JSON key for email whose
// key CloudTokens' Google token endpoint knows: its assertions are
// exchanged for the access token "sa-key." + email, which Pub/Sub takes.
func (c *CloudTokens) GoogleServiceAccountKey(email string) []byte {
	return serviceAccountJSON(c.signer(), email, CloudGoogleTokenURI)
}

// UnknownGoogleServiceAccountKey is a well-formed key for email (same
// key ID) whose private key the token endpoint does not know: its
// assertions fail the signature check.
func UnknownGoogleServiceAccountKey(email string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return serviceAccountJSON(key, email, CloudGoogleTokenURI)
}

// AzureJWT is an Entra access token for clientID and audience, expiring
// at expiry, signed with the key CloudTokens' Event Hubs trusts.
func (c *CloudTokens) AzureJWT(clientID, audience string, expiry time.Time) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": strings.TrimSuffix(CloudAzureAuthority, "/") + "/" + CloudAzureTenant + "/v2.0", "aud": audience,
		"appid": clientID, "tid": CloudAzureTenant, "iat": time.Now().Add(-time.Minute).Unix(), "exp": expiry.Unix(),
	}).SignedString(c.signer())
	if err != nil {
		panic(err)
	}
	return tok
}

// googleKeyToken answers the JWT-bearer grant as Google's token endpoint
// does: the assertion must be an RS256 JWT signed by a known key, issued
// by the service account for this endpoint, with a scope and at most an
// hour of life.
func (c *CloudTokens) googleKeyToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	refuse := func(code, description string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
	}
	_ = r.ParseForm()
	if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		refuse("unsupported_grant_type", "Invalid grant_type: "+r.Form.Get("grant_type"))
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.Form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &c.signer().PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(CloudGoogleTokenURI), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenUnverifiable):
		refuse("invalid_grant", "Invalid JWT Signature.")
		return
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		refuse("invalid_grant", "Invalid JWT: Failed audience check.")
		return
	case err != nil:
		refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
		return
	}
	iss, _ := claims.GetIssuer()
	scope, _ := claims["scope"].(string)
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	switch {
	case !strings.HasSuffix(iss, ".iam.gserviceaccount.com"):
		refuse("invalid_grant", "Invalid grant: account not found")
		return
	case scope == "":
		refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	case iat == nil || exp.Sub(iat.Time) > time.Hour:
		refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
		return
	}
	tok := "sa-key." + iss
	c.mu.Lock()
	c.calls = append(c.calls, "gcp-key:"+iss+" "+scope)
	if !slices.Contains(c.keyTokens, tok) {
		c.keyTokens = append(c.keyTokens, tok)
	}
	c.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599})
}

// keyToken reports whether tok is an access token googleKeyToken handed
// out.
func (c *CloudTokens) keyToken(tok string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.keyTokens, tok)
}

// azureJWTValid reports whether tok is an unexpired Entra JWT for Event
// Hubs signed with the trusted key (AzureJWT).
func (c *CloudTokens) azureJWTValid(tok string) bool {
	_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &c.signer().PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(CloudEventHubsAudience), jwt.WithExpirationRequired())
	return err == nil
}
