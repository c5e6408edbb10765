package notifier

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// gitHostStub answers a Git host's pull request lookup and comment list
// and records every request; posted comments are listed back, so a second
// event must edit the first comment instead of adding one.
type gitHostStub struct {
	mu       sync.Mutex
	reqs     []string // "METHOD path"
	bodies   []string
	comments []comment
	lookup   string // path of the PR lookup
	found    string // its JSON answer
	list     string // path of the comments collection
	auth     [2]string
}

func (s *gitHostStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	s.reqs = append(s.reqs, r.Method+" "+r.URL.Path)
	s.bodies = append(s.bodies, string(b))
	if r.Header.Get(s.auth[0]) != s.auth[1] {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == s.lookup:
		io.WriteString(w, s.found)
	case r.Method == http.MethodGet && r.URL.Path == s.list:
		_ = json.NewEncoder(w).Encode(s.comments)
	case r.Method == http.MethodPost && r.URL.Path == s.list:
		var c comment
		_ = json.Unmarshal(b, &c)
		c.ID = 900 + int64(len(s.comments))
		s.comments = append(s.comments, c)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	default:
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "{}")
	}
}

// TestPRCommentProviders finds the request holding the commit, creates one
// comment for the object, then edits that comment on the next event.
func TestPRCommentProviders(t *testing.T) {
	tests := []struct {
		name, typ, repoPath string
		stub                *gitHostStub
		edit                string
	}{
		{name: "github", typ: "githubpullrequestcomment", repoPath: "/org/app",
			stub: &gitHostStub{lookup: "/api/v3/repos/org/app/commits/" + sha + "/pulls",
				found: `[{"number":3,"state":"closed"},{"number":7,"state":"open"}]`,
				list:  "/api/v3/repos/org/app/issues/7/comments", auth: [2]string{"Authorization", "Bearer tok"}},
			edit: "PATCH /api/v3/repos/org/app/issues/comments/900"},
		{name: "gitlab", typ: "gitlabmergerequestcomment", repoPath: "/group/sub/app.git",
			stub: &gitHostStub{lookup: "/api/v4/projects/group/sub/app/repository/commits/" + sha + "/merge_requests",
				found: `[{"iid":12,"state":"opened"}]`,
				list:  "/api/v4/projects/group/sub/app/merge_requests/12/notes", auth: [2]string{"PRIVATE-TOKEN", "tok"}},
			edit: "PUT /api/v4/projects/group/sub/app/merge_requests/12/notes/900"},
		{name: "gitea", typ: "giteapullrequestcomment", repoPath: "/org/app",
			stub: &gitHostStub{lookup: "/api/v1/repos/org/app/commits/" + sha + "/pull",
				found: `{"number":5,"state":"open"}`,
				list:  "/api/v1/repos/org/app/issues/5/comments", auth: [2]string{"Authorization", "token tok"}},
			edit: "PATCH /api/v1/repos/org/app/issues/comments/900"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := tt.stub
			srv := httptest.NewServer(stub)
			t.Cleanup(srv.Close)
			n, err := New(Config{Type: tt.typ, Address: srv.URL + tt.repoPath, Token: "tok", ProviderUID: "u1", Retry: fastRetry()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for range 2 {
				if err := n.Post(context.Background(), testEvent("error")); err != nil {
					t.Fatalf("Post: %v", err)
				}
			}
			stub.mu.Lock()
			defer stub.mu.Unlock()
			want := []string{"GET " + stub.lookup, "GET " + stub.list, "POST " + stub.list,
				"GET " + stub.lookup, "GET " + stub.list, tt.edit}
			if strings.Join(stub.reqs, "\n") != strings.Join(want, "\n") {
				t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(stub.reqs, "\n"), strings.Join(want, "\n"))
			}
			for _, i := range []int{2, 5} {
				body, _ := jsonAt(t, []byte(stub.bodies[i]), "body").(string)
				if !strings.HasPrefix(body, "<!-- gotk: kustomization/apps/") || !strings.Contains(body, "Health check failed after 30s") {
					t.Fatalf("comment body %q", body)
				}
			}
		})
	}
}

// TestPRCommentNoRequest sends nothing when no open request holds the commit.
func TestPRCommentNoRequest(t *testing.T) {
	stub := &gitHostStub{lookup: "/api/v3/repos/org/app/commits/" + sha + "/pulls", found: `[]`,
		list: "/api/v3/repos/org/app/issues/7/comments", auth: [2]string{"Authorization", "Bearer tok"}}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	n, err := New(Config{Type: "githubpullrequestcomment", Address: srv.URL + "/org/app", Token: "tok", Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Post(context.Background(), testEvent("error")); err != nil {
		t.Fatalf("Post: %v", err)
	}
	if len(stub.reqs) != 1 {
		t.Fatalf("requests %v, want only the lookup", stub.reqs)
	}
}
