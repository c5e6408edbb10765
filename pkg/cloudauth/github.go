package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gotk.dev/pkg/git"
)

// The keys of a GitRepository's secretRef with provider github, as Flux
// names them.
const (
	GitHubAppIDKey             = "githubAppID"
	GitHubAppInstallationIDKey = "githubAppInstallationID"
	GitHubAppPrivateKeyKey     = "githubAppPrivateKey"
	// GitHubAppBaseURLKey is the API base URL of a GitHub Enterprise
	// Server (https://<host>/api/v3); api.github.com when unset.
	GitHubAppBaseURLKey = "githubAppBaseURL"
)

// GitHubTokenUser is the Git HTTP username that goes with an
// installation access token.
const GitHubTokenUser = "x-access-token"

const gitHubAPI = "https://api.github.com"

// ErrGitHubAppConfig is wrapped by GitHubAppToken's errors about the
// Secret's content (which retrying does not fix).
var ErrGitHubAppConfig = errors.New("GitHub App secret")

// GitHubAppToken creates an installation access token of the GitHub App
// the Secret data names: a JWT of the app (RS256 with its private key,
// issuer its ID, valid 10 minutes) is exchanged at
// POST /app/installations/{id}/access_tokens. hc carries the request
// (http.DefaultClient when nil).
func GitHubAppToken(ctx context.Context, data map[string][]byte, hc *http.Client) (string, error) {
	appID, inst := strings.TrimSpace(string(data[GitHubAppIDKey])), strings.TrimSpace(string(data[GitHubAppInstallationIDKey]))
	if _, err := strconv.ParseInt(appID, 10, 64); err != nil {
		return "", fmt.Errorf("%w: %s must be the app's numeric ID", ErrGitHubAppConfig, GitHubAppIDKey)
	}
	if _, err := strconv.ParseInt(inst, 10, 64); err != nil {
		return "", fmt.Errorf("%w: %s must be the installation's numeric ID", ErrGitHubAppConfig, GitHubAppInstallationIDKey)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(data[GitHubAppPrivateKeyKey])
	if err != nil {
		return "", fmt.Errorf("%w: %s is not an RSA private key in PEM", ErrGitHubAppConfig, GitHubAppPrivateKeyKey)
	}
	now := time.Now()
	// Issued a minute back against clock drift, as GitHub recommends.
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: appID, IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("signing the GitHub App JWT: %w", err)
	}
	base := strings.TrimSuffix(string(data[GitHubAppBaseURLKey]), "/")
	if base == "" {
		base = gitHubAPI
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/app/installations/"+inst+"/access_tokens", nil)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrGitHubAppConfig, GitHubAppBaseURLKey, err)
	}
	req.Header.Set("Authorization", "Bearer "+signed)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("GitHub App installation token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Token   string `json:"token"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusCreated || out.Token == "" {
		return "", fmt.Errorf("GitHub App installation token: %s %s", resp.Status, out.Message)
	}
	return out.Token, nil
}

// GitHubAppGitAuth is the Git HTTP(S) auth of provider github: an
// installation token (GitHubAppToken) as the password of x-access-token,
// with the Secret's CA bundle (ca.crt), if any, for the Git server.
func GitHubAppGitAuth(ctx context.Context, u *git.URL, data map[string][]byte) (*git.Auth, error) {
	if u.Transport == git.SSH {
		return nil, fmt.Errorf("%w: provider github needs an HTTPS URL", ErrGitHubAppConfig)
	}
	token, err := GitHubAppToken(ctx, data, nil)
	if err != nil {
		return nil, err
	}
	a := &git.Auth{Username: GitHubTokenUser, Password: token, CABundle: data[git.KeyCACert]}
	if len(a.CABundle) == 0 {
		a.CABundle = data[git.KeyCAFileLegacy]
	}
	return a, nil
}
