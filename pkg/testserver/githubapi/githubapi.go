// Package githubapi is a local server speaking the part of GitHub's
// documented REST API that bootstrap calls (the token's user, users and
// organizations, repositories, their teams and deploy keys). Its
// repositories are real: each one created through the API is a bare
// repository of a local Git smart-HTTP server (authenticated with the
// token) and Git SSH server (authenticated with the registered deploy
// keys), and the API answers with those servers' clone URLs. Every
// request is recorded.
package githubapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gotk.dev/pkg/testserver"
	"gotk.dev/pkg/testserver/apirecord"
	"gotk.dev/pkg/testserver/hostedgit"
)

// Repo is the server's state of one repository.
type Repo struct {
	Owner, Name string
	Private     bool
	// Teams maps a team slug to its permission.
	Teams map[string]string
	Keys  []DeployKey
}

// DeployKey is a registered deploy key.
type DeployKey struct {
	ID       int64
	Title    string
	Key      string
	ReadOnly bool
}

// Server is the fake GitHub API with its Git servers.
type Server struct {
	// Git and SSH serve the repositories' content.
	Git *testserver.GitHTTP
	SSH *testserver.GitSSH

	api   *httptest.Server
	token string
	login string

	apirecord.Recorder

	mu     sync.Mutex
	orgs   map[string]map[string]bool // org → team slugs
	users  map[string]bool
	repos  map[string]*Repo // "owner/name"
	nextID int64
	app    *app
}

// New starts a server whose token is token and belongs to user login; it
// knows that user and nothing else until AddUser, AddOrg or AddRepo.
func New(t testing.TB, token, login string) *Server {
	t.Helper()
	s := &Server{
		token: token, login: login,
		orgs: map[string]map[string]bool{}, users: map[string]bool{login: true}, repos: map[string]*Repo{}, nextID: 1,
	}
	s.Git, s.SSH = hostedgit.NewGitServers(t, token)
	s.api = hostedgit.StartAPI(t, s.routes())
	return s
}

// URL is the API's base URL (GitHub Enterprise's /api/v3/ prefix is also
// accepted).
func (s *Server) URL() string { return s.api.URL + "/" }

// AddUser makes a user account known.
func (s *Server) AddUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[login] = true
}

// AddOrg makes an organization with the given team slugs known.
func (s *Server) AddOrg(org string, teams ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs[org] = map[string]bool{}
	for _, t := range teams {
		s.orgs[org][t] = true
	}
}

// AddRepo creates an existing repository (empty) outside the API.
func (s *Server) AddRepo(owner, name string, private bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(owner, name, private)
}

// Repo returns a copy of a repository's state, or nil.
func (s *Server) Repo(owner, name string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[owner+"/"+name]
	if !ok {
		return nil
	}
	c := *r
	c.Teams = map[string]string{}
	for k, v := range r.Teams {
		c.Teams[k] = v
	}
	c.Keys = append([]DeployKey(nil), r.Keys...)
	return &c
}

// GitPath is the name of a repository on the Git servers.
func GitPath(owner, name string) string { return hostedgit.GitPath(owner, name) }

func (s *Server) createLocked(owner, name string, private bool) error {
	if err := s.Git.CreateRepo(GitPath(owner, name)); err != nil {
		return err
	}
	s.repos[owner+"/"+name] = &Repo{Owner: owner, Name: name, Private: private, Teams: map[string]string{}}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// repoHandler serves fn with the path's repository, under the lock.
	repoHandler := func(fn func(http.ResponseWriter, *http.Request, *Repo)) http.HandlerFunc {
		return hostedgit.WithRepo(&s.mu, s.lookup, fn)
	}
	mux.HandleFunc("GET /user", s.getUser)
	mux.HandleFunc("GET /users/{user}", s.getAccount)
	mux.HandleFunc("GET /orgs/{org}", s.getOrg)
	mux.HandleFunc("GET /orgs/{org}/teams/{team}", s.getTeam)
	mux.HandleFunc("PUT /orgs/{org}/teams/{team}/repos/{owner}/{repo}", s.putTeamRepo)
	mux.HandleFunc("POST /user/repos", s.createRepo)
	mux.HandleFunc("POST /orgs/{org}/repos", s.createRepo)
	mux.HandleFunc("GET /repos/{owner}/{repo}", repoHandler(s.getRepo))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}", repoHandler(s.editRepo))
	mux.HandleFunc("GET /repos/{owner}/{repo}/teams", repoHandler(s.listTeams))
	mux.HandleFunc("GET /repos/{owner}/{repo}/keys", repoHandler(s.listKeys))
	mux.HandleFunc("POST /repos/{owner}/{repo}/keys", s.createKey)
	mux.HandleFunc("DELETE /repos/{owner}/{repo}/keys/{id}", repoHandler(s.deleteKey))
	// An app's token request carries the app's JWT, not the user token.
	appMux := http.NewServeMux()
	appMux.HandleFunc("POST /app/installations/{id}/access_tokens", s.appToken)
	checked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+s.token && auth != "token "+s.token {
			writeError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		w.Header().Set("X-GitHub-Media-Type", "github.v3")
		mux.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// GitHub Enterprise Server serves the same API under /api/v3.
		r.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/v3"), "/")
		r.URL.RawPath = ""
		if r.Method == http.MethodPost && appTokenPath.MatchString(r.URL.Path) {
			s.Wrap(appMux).ServeHTTP(w, r)
			return
		}
		s.Wrap(checked).ServeHTTP(w, r)
	})
}

var appTokenPath = regexp.MustCompile(`^/app/installations/[^/]+/access_tokens$`)

func (s *Server) getUser(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, account(s.login, "User"))
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ok := s.users[r.PathValue("user")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, account(r.PathValue("user"), "User"))
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, ok := s.orgs[r.PathValue("org")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, account(r.PathValue("org"), "Organization"))
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ok := s.orgs[r.PathValue("org")][r.PathValue("team")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 1, "slug": r.PathValue("team"), "name": r.PathValue("team")})
}

func (s *Server) putTeamRepo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if !s.orgs[r.PathValue("org")][r.PathValue("team")] || repo == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct{ Permission string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Permission == "" {
		body.Permission = "push"
	}
	repo.Teams[r.PathValue("team")] = body.Permission
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name    string
		Private *bool
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	owner := s.login
	if org := r.PathValue("org"); org != "" {
		owner = org
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[owner]; r.PathValue("org") != "" && !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if _, exists := s.repos[owner+"/"+body.Name]; exists {
		writeError(w, http.StatusUnprocessableEntity, "Repository creation failed.")
		return
	}
	if err := s.createLocked(owner, body.Name, body.Private != nil && *body.Private); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, s.repoJSON(s.repos[owner+"/"+body.Name]))
}

// lookup returns the repository of the path, or answers 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *Repo {
	repo := s.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if repo == nil {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return repo
}

func (s *Server) getRepo(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) editRepo(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct {
		Private    *bool
		Visibility string
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Private != nil {
		repo.Private = *body.Private
	}
	if body.Visibility != "" {
		repo.Private = body.Visibility != "public"
	}
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) listTeams(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	out := []map[string]any{}
	for slug, perm := range repo.Teams {
		out = append(out, map[string]any{"id": 1, "slug": slug, "name": slug, "permission": perm})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	writeJSON(w, http.StatusOK, hostedgit.ListJSON(repo.Keys, keyJSON))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Title    string
		Key      string
		ReadOnly bool `json:"read_only"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	pub, ok := hostedgit.ParseKey(body.Key)
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: key is invalid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.lookup(w, r)
	if repo == nil {
		return
	}
	k, added := hostedgit.AddKey(s.SSH, &repo.Keys, pub, body.Key, keyText, func() DeployKey {
		s.nextID++
		return DeployKey{ID: s.nextID - 1, Title: body.Title, Key: body.Key, ReadOnly: body.ReadOnly}
	})
	if !added {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed: key is already in use")
		return
	}
	writeJSON(w, http.StatusCreated, keyJSON(k))
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, repo *Repo) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if hostedgit.RemoveKey(s.SSH, &repo.Keys, id, keyID, keyText) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) repoJSON(r *Repo) map[string]any {
	vis := "public"
	if r.Private {
		vis = "private"
	}
	return map[string]any{
		"id": 1, "name": r.Name, "full_name": r.Owner + "/" + r.Name, "owner": account(r.Owner, "User"),
		"private": r.Private, "visibility": vis, "default_branch": "main",
		"clone_url": s.Git.URL(GitPath(r.Owner, r.Name)), "ssh_url": s.SSH.URL(GitPath(r.Owner, r.Name)),
		"html_url": s.api.URL + "/" + r.Owner + "/" + r.Name,
	}
}

func keyJSON(k DeployKey) map[string]any {
	return map[string]any{"id": k.ID, "title": k.Title, "key": k.Key, "read_only": k.ReadOnly, "verified": true,
		"created_at": time.Unix(0, 0).UTC().Format(time.RFC3339)}
}

func account(login, kind string) map[string]any {
	return map[string]any{"login": login, "id": 1, "type": kind}
}

func writeJSON(w http.ResponseWriter, code int, v any) { apirecord.WriteJSON(w, code, v) }

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest", "status": fmt.Sprint(code)})
}

func keyID(k DeployKey) int64 { return k.ID }

func keyText(k DeployKey) string { return k.Key }
