// Package giteaapi is a local server speaking the part of Gitea's
// documented REST API (v1) that bootstrap calls: the server version, the
// token's user, users and organizations, repositories, their teams and
// deploy keys. Its repositories are real: each one is a bare repository of
// a local Git smart-HTTP server (authenticated with the token) and Git SSH
// server (authenticated with the registered deploy keys), and the API
// answers with those servers' clone URLs. Every request is recorded.
package giteaapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gotk.dev/pkg/testserver"
	"gotk.dev/pkg/testserver/apirecord"
	"gotk.dev/pkg/testserver/hostedgit"
)

// Repo is the server's state of one repository.
type Repo struct {
	Owner, Name string
	Private     bool
	Teams       []string
	Keys        []DeployKey
}

// DeployKey is a registered deploy key.
type DeployKey struct {
	ID       int64
	Title    string
	Key      string
	ReadOnly bool
}

// Server is the fake Gitea API with its Git servers.
type Server struct {
	// Git and SSH serve the repositories' content.
	Git *testserver.GitHTTP
	SSH *testserver.GitSSH
	apirecord.Recorder

	api   *httptest.Server
	token string
	login string

	mu     sync.Mutex
	users  map[string]bool
	orgs   map[string][]string // org → team names
	repos  map[string]*Repo
	nextID int64
}

// New starts a server whose token is token and belongs to user login.
func New(t testing.TB, token, login string) *Server {
	t.Helper()
	s := &Server{
		token: token, login: login, users: map[string]bool{login: true}, orgs: map[string][]string{}, repos: map[string]*Repo{}, nextID: 1,
	}
	s.Git, s.SSH = hostedgit.NewGitServers(t, token)
	s.api = hostedgit.StartAPI(t, s.routes())
	return s
}

// URL is the server's root URL (the API is under /api/v1).
func (s *Server) URL() string { return s.api.URL }

// AddUser makes a user known.
func (s *Server) AddUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[login] = true
}

// AddOrg makes an organization with the given teams known.
func (s *Server) AddOrg(org string, teams ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs[org] = teams
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
	c.Teams = slices.Clone(r.Teams)
	c.Keys = slices.Clone(r.Keys)
	return &c
}

// GitPath is the name of a repository on the Git servers.
func GitPath(owner, name string) string { return hostedgit.GitPath(owner, name) }

func (s *Server) createLocked(owner, name string, private bool) error {
	if err := s.Git.CreateRepo(GitPath(owner, name)); err != nil {
		return err
	}
	s.repos[owner+"/"+name] = &Repo{Owner: owner, Name: name, Private: private}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// repoHandler serves fn with the path's repository, under the lock.
	repoHandler := func(fn func(http.ResponseWriter, *http.Request, *Repo)) http.HandlerFunc {
		return hostedgit.WithRepo(&s.mu, s.lookup, fn)
	}
	mux.HandleFunc("GET /api/v1/user", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, account(s.login)) })
	mux.HandleFunc("GET /api/v1/users/{user}", s.getUser)
	mux.HandleFunc("GET /api/v1/orgs/{org}", s.getOrg)
	mux.HandleFunc("GET /api/v1/orgs/{org}/teams/search", s.searchTeams)
	mux.HandleFunc("POST /api/v1/user/repos", s.createRepo)
	mux.HandleFunc("POST /api/v1/orgs/{org}/repos", s.createRepo)
	mux.HandleFunc("GET /api/v1/repos/{owner}/{repo}", repoHandler(s.getRepo))
	mux.HandleFunc("PATCH /api/v1/repos/{owner}/{repo}", repoHandler(s.editRepo))
	mux.HandleFunc("GET /api/v1/repos/{owner}/{repo}/teams", repoHandler(s.listTeams))
	mux.HandleFunc("PUT /api/v1/repos/{owner}/{repo}/teams/{team}", repoHandler(s.addTeam))
	mux.HandleFunc("GET /api/v1/repos/{owner}/{repo}/keys", repoHandler(s.listKeys))
	mux.HandleFunc("POST /api/v1/repos/{owner}/{repo}/keys", s.createKey)
	mux.HandleFunc("DELETE /api/v1/repos/{owner}/{repo}/keys/{id}", repoHandler(s.deleteKey))
	return s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/version" { // public, as on Gitea
			writeJSON(w, http.StatusOK, map[string]any{"version": "1.22.0"})
			return
		}
		if r.Header.Get("Authorization") != "token "+s.token {
			writeError(w, http.StatusUnauthorized, "user does not exist")
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.users[r.PathValue("user")] {
		writeError(w, http.StatusNotFound, "user does not exist")
		return
	}
	writeJSON(w, http.StatusOK, account(r.PathValue("user")))
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[r.PathValue("org")]; !ok {
		writeError(w, http.StatusNotFound, "GetOrgByName")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 1, "username": r.PathValue("org"), "name": r.PathValue("org")})
}

func (s *Server) searchTeams(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	teams, ok := s.orgs[r.PathValue("org")]
	if !ok {
		writeError(w, http.StatusNotFound, "GetOrgByName")
		return
	}
	q := r.URL.Query().Get("q")
	data := []map[string]any{}
	for i, t := range teams {
		if strings.Contains(t, q) {
			data = append(data, map[string]any{"id": i + 1, "name": t, "permission": "write"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "data": data})
}

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name    string
		Private bool
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid repository name")
		return
	}
	owner := s.login
	s.mu.Lock()
	defer s.mu.Unlock()
	if org := r.PathValue("org"); org != "" {
		if _, ok := s.orgs[org]; !ok {
			writeError(w, http.StatusNotFound, "GetOrgByName")
			return
		}
		owner = org
	}
	if _, exists := s.repos[owner+"/"+body.Name]; exists {
		writeError(w, http.StatusConflict, "The repository with the same name already exists.")
		return
	}
	if err := s.createLocked(owner, body.Name, body.Private); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, s.repoJSON(s.repos[owner+"/"+body.Name]))
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *Repo {
	repo := s.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if repo == nil {
		writeError(w, http.StatusNotFound, "GetRepositoryByName")
	}
	return repo
}

func (s *Server) getRepo(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) editRepo(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct{ Private *bool }
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Private != nil {
		repo.Private = *body.Private
	}
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) listTeams(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	out := []map[string]any{}
	for i, t := range repo.Teams {
		out = append(out, map[string]any{"id": i + 1, "name": t, "permission": "write"})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) addTeam(w http.ResponseWriter, r *http.Request, repo *Repo) {
	team := r.PathValue("team")
	if !slices.Contains(s.orgs[repo.Owner], team) {
		writeError(w, http.StatusNotFound, "team not found")
		return
	}
	if !slices.Contains(repo.Teams, team) {
		repo.Teams = append(repo.Teams, team)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	writeJSON(w, http.StatusOK, hostedgit.ListJSON(repo.Keys, keyJSON))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Title, Key string
		ReadOnly   bool `json:"read_only"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	pub, ok := hostedgit.ParseKey(body.Key)
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "invalid key content")
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
		writeError(w, http.StatusUnprocessableEntity, "Key content has been used as non-deploy key")
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
	writeError(w, http.StatusNotFound, "GetDeployKeyByRepo")
}

func (s *Server) repoJSON(r *Repo) map[string]any {
	return map[string]any{
		"id": 1, "name": r.Name, "full_name": r.Owner + "/" + r.Name, "owner": account(r.Owner),
		"private": r.Private, "default_branch": "main",
		"clone_url": s.Git.URL(GitPath(r.Owner, r.Name)), "ssh_url": s.SSH.URL(GitPath(r.Owner, r.Name)),
		"html_url": s.api.URL + "/" + r.Owner + "/" + r.Name,
	}
}

func keyJSON(k DeployKey) map[string]any {
	return map[string]any{"id": k.ID, "key_id": k.ID, "title": k.Title, "key": k.Key, "read_only": k.ReadOnly, "created_at": "1970-01-01T00:00:00Z"}
}

func account(login string) map[string]any {
	return map[string]any{"id": 1, "login": login, "username": login}
}

func writeJSON(w http.ResponseWriter, code int, v any) { apirecord.WriteJSON(w, code, v) }

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]any{"message": message, "url": "https://docs.gitea.com/api"})
}

func keyID(k DeployKey) int64 { return k.ID }

func keyText(k DeployKey) string { return k.Key }
