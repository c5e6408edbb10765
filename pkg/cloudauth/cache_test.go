package cloudauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testserver"
)

// TestTokenCache: a token is handed out until TokenExpiryMargin before
// it expires, one that lives shorter is not kept, and the least recently
// used entry goes first when the cache is full.
func TestTokenCache(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := func(scope string) cloudauth.TokenKey {
		return cloudauth.TokenKey{Provider: "aws", Identity: "controller", Scope: scope}
	}
	tests := []struct {
		name    string
		put     map[string]time.Duration // scope → lifetime at start
		get     []string                 // scopes read in order at start (refreshing their use)
		after   time.Duration            // clock advance before the checks
		want    map[string]bool          // scope → found
		wantLen int
	}{
		{name: "fresh", put: map[string]time.Duration{"a": time.Hour}, want: map[string]bool{"a": true}, wantLen: 1},
		{name: "just outside the margin", put: map[string]time.Duration{"a": time.Hour},
			after: time.Hour - cloudauth.TokenExpiryMargin - time.Second, want: map[string]bool{"a": true}, wantLen: 1},
		{name: "within the margin", put: map[string]time.Duration{"a": time.Hour},
			after: time.Hour - cloudauth.TokenExpiryMargin + time.Second, want: map[string]bool{"a": false}, wantLen: 0},
		{name: "expired", put: map[string]time.Duration{"a": time.Hour}, after: 2 * time.Hour, want: map[string]bool{"a": false}},
		{name: "too short to keep", put: map[string]time.Duration{"a": time.Minute}, want: map[string]bool{"a": false}},
		{name: "least recently used goes first", put: map[string]time.Duration{"a": time.Hour, "b": time.Hour, "c": time.Hour},
			want: map[string]bool{"a": false, "b": true, "c": true}, wantLen: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			c := &cloudauth.TokenCache{MaxEntries: 2, Now: func() time.Time { return now }}
			for _, scope := range []string{"a", "b", "c"} { // insertion order: a is the oldest
				if d, ok := tt.put[scope]; ok {
					c.Put(key(scope), "token-"+scope, start.Add(d))
				}
			}
			now = now.Add(tt.after)
			for scope, want := range tt.want {
				v, ok := c.Get(key(scope))
				if ok != want || (ok && v != "token-"+scope) {
					t.Errorf("Get(%s) = %v, %v; want found %v", scope, v, ok, want)
				}
			}
			if tt.wantLen != 0 && c.Len() != tt.wantLen {
				t.Errorf("Len() = %d, want %d", c.Len(), tt.wantLen)
			}
		})
	}
}

// TestRegistryLoginIsCached: two logins with the same identity ask the
// token service once; another identity (other environment credentials)
// asks again.
func TestRegistryLoginIsCached(t *testing.T) {
	ctx := context.Background()
	cloud := testserver.NewCloudTokensForTest(t, registryPassword)
	testserver.IsolateCloudEnv(t)
	t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)
	o := cloudauth.Options{HTTPClient: cloud.Client}
	for range 2 {
		if _, err := cloudauth.RegistryAuthenticator(ctx, "gcp", "europe-west1-docker.pkg.dev", o); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(cloud.Calls(), ","); got != "metadata:default" {
		t.Fatalf("calls %s, want one metadata:default", got)
	}
	t.Setenv("GOOGLE_CLOUD_PROJECT", "other")
	if _, err := cloudauth.RegistryAuthenticator(ctx, "gcp", "europe-west1-docker.pkg.dev", o); err != nil {
		t.Fatal(err)
	}
	if n := len(cloud.Calls()); n != 2 {
		t.Fatalf("calls %v, want a second login for the changed environment", cloud.Calls())
	}
}
