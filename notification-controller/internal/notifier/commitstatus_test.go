package notifier

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestCommitStatusServices checks Bitbucket Server and Azure DevOps commit
// statuses against their documented REST endpoints and bodies.
func TestCommitStatusServices(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		repoPath string
		severity string
		path     string
		query    string
		auth     string
		fields   map[string]any
	}{
		{name: "bitbucketserver clone url", cfg: Config{Type: "bitbucketserver", Token: "bbs", ProviderUID: "u1"},
			repoPath: "/scm/PRJ/app.git", path: "/rest/api/1.0/projects/PRJ/repos/app/commits/" + sha + "/builds",
			auth: "Bearer bbs", fields: map[string]any{"state": "FAILED", "description": "Health check failed after 30s",
				"name": "kustomization/apps/*", "url": "*/projects/PRJ/repos/app"}},
		{name: "bitbucketserver browse url with context path", severity: "info",
			cfg:      Config{Type: "bitbucketserver", BasicUser: "ci", BasicPassword: "pw"},
			repoPath: "/bitbucket/projects/PRJ/repos/app/browse",
			path:     "/bitbucket/rest/api/1.0/projects/PRJ/repos/app/commits/" + sha + "/builds",
			auth:     "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:pw")),
			fields:   map[string]any{"state": "SUCCESSFUL", "name": "kustomization/apps"}},
		{name: "azuredevops", cfg: Config{Type: "azuredevops", Token: "pat", ProviderUID: "u1"},
			repoPath: "/org/proj/_git/app",
			path:     "/org/proj/_apis/git/repositories/app/commits/" + sha + "/statuses", query: "api-version=7.1",
			auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(":pat")),
			fields: map[string]any{"state": "failed", "description": "Health check failed after 30s",
				"context.genre": "fluxcd", "context.name": "kustomization/apps/*"}},
		{name: "azuredevops succeeded", cfg: Config{Type: "azuredevops", Token: "pat"}, severity: "info",
			repoPath: "/tfs/Default/proj/_git/app",
			path:     "/tfs/Default/proj/_apis/git/repositories/app/commits/" + sha + "/statuses", query: "api-version=7.1",
			auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(":pat")),
			fields: map[string]any{"state": "succeeded", "context.name": "kustomization/apps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev := tt.severity
			if sev == "" {
				sev = "error"
			}
			r := sendOne(t, tt.cfg, at(tt.repoPath), sev, "")
			if r.Method != http.MethodPost || r.Path != tt.path || r.RawQuery != tt.query {
				t.Fatalf("request %s %s?%s, want POST %s?%s", r.Method, r.Path, r.RawQuery, tt.path, tt.query)
			}
			if got := r.Header.Get("Authorization"); got != tt.auth {
				t.Fatalf("Authorization = %q, want %q", got, tt.auth)
			}
			for k, v := range tt.fields {
				got, _ := jsonAt(t, r.Body, k).(string)
				want := v.(string)
				switch {
				case strings.HasSuffix(want, "*") && strings.HasPrefix(got, strings.TrimSuffix(want, "*")):
				case strings.HasPrefix(want, "*") && strings.HasSuffix(got, strings.TrimPrefix(want, "*")):
				case got == want:
				default:
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestCommitStatusAddressErrors refuses addresses that name no repository.
func TestCommitStatusAddressErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Type: "bitbucketserver", Address: "https://bb.example.com/PRJ/app", Token: "tok-XYZ"},
		{Type: "bitbucketserver", Address: "https://bb.example.com/scm/PRJ/app.git"},
		{Type: "azuredevops", Address: "https://dev.azure.com/org/proj/app", Token: "tok-XYZ"},
		{Type: "azuredevops", Address: "https://dev.azure.com/org/proj/_git/app"},
	} {
		_, err := New(cfg)
		if err == nil || strings.Contains(err.Error(), "tok-XYZ") {
			t.Errorf("New(%s %s) err = %v, want a clear refusal without the token", cfg.Type, cfg.Address, err)
		}
	}
}
