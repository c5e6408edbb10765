package cloudauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
)

// codeCommitHost matches AWS CodeCommit's Git HTTPS hosts; the group is
// the region.
var codeCommitHost = regexp.MustCompile(`^git-codecommit(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// codeCommitLifetime is how long a signed CodeCommit Git password is
// reused: well inside the minutes CodeCommit accepts a signature's
// timestamp for.
const codeCommitLifetime = 5 * time.Minute

// CodeCommitCredentials are the HTTPS Git credentials CodeCommit takes
// from IAM credentials (as git-remote-codecommit sends them).
type CodeCommitCredentials struct {
	// Username is the access key ID, with "%" and the session token
	// appended when the credentials have one.
	Username string
	// Password is <YYYYMMDDTHHMMSS>Z<hex SigV4 signature> of the Git
	// request for the repository.
	Password string
	// AccessKeyID and Region say whose signature for which region, for
	// messages (neither is a secret).
	AccessKeyID, Region string
}

// CodeCommitRegion is the region of a CodeCommit host
// (git-codecommit.<region>.amazonaws.com), "" for any other host.
func CodeCommitRegion(host string) string {
	if m := codeCommitHost.FindStringSubmatch(strings.ToLower(host)); m != nil {
		return m[1]
	}
	return ""
}

// CodeCommitGitCredentials signs CodeCommit Git credentials for the
// repository at u (an HTTP(S) URL) with o's AWS credentials: the
// ServiceAccount's IAM role (web identity) when o has an Identity, else
// the SDK's default chain. The region is the host's; for a host that is
// not a CodeCommit host (a mirror, a test server) it is the region the
// SDK is configured with (AWS_REGION, the shared config). Credentials are
// cached for a few minutes.
func CodeCommitGitCredentials(ctx context.Context, u *git.URL, o Options) (CodeCommitCredentials, error) {
	host := u.Host
	if u.Port != "" {
		host += ":" + u.Port
	}
	key := TokenKey{Provider: ProviderAWS, Identity: IdentityKey(o), Scope: "codecommit:" + host + u.Path}
	return cachedToken(key, func() (CodeCommitCredentials, time.Time, error) {
		region := CodeCommitRegion(u.Host)
		cfg, err := AWSConfig(ctx, region, o)
		if err != nil {
			return CodeCommitCredentials{}, time.Time{}, fmt.Errorf("AWS credentials: %w", err)
		}
		if region = cfg.Region; region == "" {
			return CodeCommitCredentials{}, time.Time{}, configError(errNotProviderRegistry,
				"%q is not an AWS CodeCommit host (git-codecommit.<region>.amazonaws.com) and no AWS region is configured (AWS_REGION) to sign for", u.Host)
		}
		if cfg.Credentials == nil {
			return CodeCommitCredentials{}, time.Time{}, errors.New("no AWS credentials found")
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return CodeCommitCredentials{}, time.Time{}, fmt.Errorf("AWS credentials: %s", concise(err))
		}
		now := time.Now().UTC()
		c := CodeCommitCredentials{Username: creds.AccessKeyID, AccessKeyID: creds.AccessKeyID, Region: region,
			Password: now.Format("20060102T150405") + "Z" + CodeCommitSignature(creds.SecretAccessKey, region, host, u.Path, now)}
		if creds.SessionToken != "" {
			c.Username += "%" + creds.SessionToken
		}
		expiry := now.Add(codeCommitLifetime)
		if creds.CanExpire && creds.Expires.Before(expiry) {
			expiry = creds.Expires
		}
		return c, expiry, nil
	})
}

// CodeCommitSignature is the hex SigV4 signature (service codecommit)
// of CodeCommit's Git canonical request for path on host at t:
// "GIT\n<path>\n\nhost:<host>\n\nhost\n".
func CodeCommitSignature(secretKey, region, host, path string, t time.Time) string {
	t = t.UTC()
	date := t.Format("20060102")
	canonical := "GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + t.Format("20060102T150405") + "\n" +
		date + "/" + region + "/codecommit/aws4_request\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+secretKey), date)
	for _, part := range []string{region, "codecommit", "aws4_request"} {
		k = hmacSHA256(k, part)
	}
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// CodeCommitLogin is CodeCommitGitCredentials for an object of provider
// aws: its identity, and errors typed for the reconcile skeleton (an SSH
// URL, a ServiceAccount without the role annotation or no region to sign
// for stalls; missing or refused credentials are retried).
func (a ObjectAuth) CodeCommitLogin(ctx context.Context, c client.Client, u *git.URL, o Options) (CodeCommitCredentials, error) {
	if u.Transport == git.SSH {
		return CodeCommitCredentials{}, reconcile.Stall(InvalidProviderConfigurationReason,
			"provider aws authenticates to CodeCommit over HTTPS only; use an https:// URL")
	}
	id, err := a.Identity(ctx, c)
	if err != nil {
		return CodeCommitCredentials{}, err
	}
	o.Identity = id
	creds, err := CodeCommitGitCredentials(ctx, u, o)
	switch {
	case IsConfigError(err):
		return creds, reconcile.Stall(InvalidProviderConfigurationReason, "provider aws: %v", err)
	case err != nil:
		return creds, reconcile.Retry(AuthenticationFailedReason, "provider aws: CodeCommit Git credentials: %v", err)
	}
	return creds, nil
}
