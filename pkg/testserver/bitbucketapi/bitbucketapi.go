// Package bitbucketapi is a local server speaking the part of Bitbucket
// Server's documented REST API (api/1.0 and keys/1.0) that bootstrap
// calls: users, projects (looked up by name), groups, repositories (a
// user's under the project key ~USER), their group permissions and their
// access keys. Its repositories are real: each one is a bare repository of
// a local Git smart-HTTP server (authenticated with the user's name and
// token) and Git SSH server (authenticated with the registered access
// keys), and the API answers with those servers' clone links. Every
// request is recorded.
package bitbucketapi

import (
	"encoding/json"
	"maps"
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

const (
	api  = "/rest/api/1.0"
	keys = "/rest/keys/1.0"
)

// Repo is the server's state of one repository.
type Repo struct {
	// Project is the project key (~USER for a user's repository).
	Project, Slug string
	Public        bool
	// Groups maps a group to its permission (REPO_READ, REPO_WRITE, ...).
	Groups map[string]string
	Keys   []AccessKey
}

// AccessKey is a registered repository access key.
type AccessKey struct {
	ID         int64
	Label      string
	Text       string
	Permission string
}

// Server is the fake Bitbucket Server API with its Git servers.
type Server struct {
	// Git and SSH serve the repositories' content.
	Git *testserver.GitHTTP
	SSH *testserver.GitSSH
	apirecord.Recorder

	api   *httptest.Server
	token string
	login string

	mu       sync.Mutex
	users    map[string]bool
	projects map[string]string // name → key
	groups   []string
	repos    map[string]*Repo
	nextID   int64
}

// New starts a server whose token is token and belongs to user login.
func New(t testing.TB, token, login string) *Server {
	t.Helper()
	s := &Server{
		token: token, login: login, users: map[string]bool{login: true},
		projects: map[string]string{}, repos: map[string]*Repo{}, nextID: 1,
	}
	s.Git, s.SSH = hostedgit.NewGitServersFor(t, login, token)
	s.api = hostedgit.StartAPI(t, s.routes())
	return s
}

// URL is the server's root URL (the API is under /rest).
func (s *Server) URL() string { return s.api.URL }

// AddUser makes a user known.
func (s *Server) AddUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[login] = true
}

// AddProject makes a project known by its name and key.
func (s *Server) AddProject(name, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[name] = key
}

// AddGroup makes groups known.
func (s *Server) AddGroup(groups ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, groups...)
}

// AddRepo creates an existing repository (empty) outside the API; project
// is a project key or ~USER.
func (s *Server) AddRepo(project, slug string, public bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(project, slug, public)
}

// Repo returns a copy of a repository's state, or nil.
func (s *Server) Repo(project, slug string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[project+"/"+slug]
	if !ok {
		return nil
	}
	c := *r
	c.Groups = maps.Clone(r.Groups)
	c.Keys = slices.Clone(r.Keys)
	return &c
}

// GitPath is the name of a repository on the Git servers.
func GitPath(project, slug string) string { return hostedgit.GitPath(project, slug) }

func (s *Server) createLocked(project, slug string, public bool) error {
	if err := s.Git.CreateRepo(GitPath(project, slug)); err != nil {
		return err
	}
	s.repos[project+"/"+slug] = &Repo{Project: project, Slug: slug, Public: public, Groups: map[string]string{}}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	repoHandler := func(fn func(http.ResponseWriter, *http.Request, *Repo)) http.HandlerFunc {
		return hostedgit.WithRepo(&s.mu, s.lookup, fn)
	}
	repo := "/projects/{project}/repos/{slug}"
	mux.HandleFunc("GET "+api+"/users/{user}", s.getUser)
	mux.HandleFunc("GET "+api+"/projects", s.findProjects)
	mux.HandleFunc("GET "+api+"/admin/groups", s.listGroups)
	mux.HandleFunc("POST "+api+"/projects/{project}/repos", s.createRepo)
	mux.HandleFunc("GET "+api+repo, repoHandler(s.getRepo))
	mux.HandleFunc("PUT "+api+repo, repoHandler(s.updateRepo))
	mux.HandleFunc("GET "+api+repo+"/permissions/groups", repoHandler(s.listGroupPermissions))
	mux.HandleFunc("PUT "+api+repo+"/permissions/groups", repoHandler(s.setGroupPermission))
	mux.HandleFunc("GET "+keys+repo+"/ssh", repoHandler(s.listKeys))
	mux.HandleFunc("POST "+keys+repo+"/ssh", repoHandler(s.createKey))
	mux.HandleFunc("DELETE "+keys+repo+"/ssh/{id}", repoHandler(s.deleteKey))
	return s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			writeError(w, http.StatusUnauthorized, "Authentication failed. Please check your credentials and try again.")
			return
		}
		w.Header().Set("X-AUSERNAME", s.login)
		mux.ServeHTTP(w, r)
	}))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("user")
	if !s.users[name] {
		writeError(w, http.StatusNotFound, "User "+name+" does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, user(name))
}

// findProjects answers GET /projects?name=, as Bitbucket does: a page of
// the projects whose name contains the filter.
func (s *Server) findProjects(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.URL.Query().Get("name")
	var out []map[string]any
	for _, n := range slices.Sorted(maps.Keys(s.projects)) {
		if strings.Contains(strings.ToLower(n), strings.ToLower(name)) {
			out = append(out, project(n, s.projects[n]))
		}
	}
	writeJSON(w, http.StatusOK, page(out))
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	filter := r.URL.Query().Get("filter")
	var out []map[string]any
	for _, g := range s.groups {
		if strings.Contains(g, filter) {
			out = append(out, map[string]any{"name": g, "deletable": true})
		}
	}
	writeJSON(w, http.StatusOK, page(out))
}

// createRepo creates a repository in a project or, under ~USER, in the
// token's own account only.
func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name   string `json:"name"`
		ScmID  string `json:"scmId"`
		Public bool   `json:"public"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" {
		writeError(w, http.StatusBadRequest, "The repository name is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.PathValue("project")
	if !s.projectExists(key) {
		writeError(w, http.StatusNotFound, "Project "+key+" does not exist.")
		return
	}
	if strings.HasPrefix(key, "~") && !strings.EqualFold(key[1:], s.login) {
		writeError(w, http.StatusForbidden, "You are not permitted to create repositories in this project.")
		return
	}
	slug := strings.ToLower(body.Name)
	if _, exists := s.repos[key+"/"+slug]; exists {
		writeError(w, http.StatusConflict, "This repository URL is already taken.")
		return
	}
	if err := s.createLocked(key, slug, body.Public); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, s.repoJSON(s.repos[key+"/"+slug]))
}

func (s *Server) projectExists(key string) bool {
	if strings.HasPrefix(key, "~") {
		return s.users[key[1:]]
	}
	return slices.Contains(slices.Collect(maps.Values(s.projects)), key)
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *Repo {
	repo := s.repos[r.PathValue("project")+"/"+r.PathValue("slug")]
	if repo == nil {
		writeError(w, http.StatusNotFound, "Repository "+r.PathValue("project")+"/"+r.PathValue("slug")+" does not exist.")
	}
	return repo
}

func (s *Server) getRepo(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) updateRepo(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct {
		Public *bool `json:"public"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Public != nil {
		repo.Public = *body.Public
	}
	writeJSON(w, http.StatusOK, s.repoJSON(repo))
}

func (s *Server) listGroupPermissions(w http.ResponseWriter, r *http.Request, repo *Repo) {
	filter := r.URL.Query().Get("filter")
	var out []map[string]any
	for _, g := range slices.Sorted(maps.Keys(repo.Groups)) {
		if strings.Contains(g, filter) {
			out = append(out, map[string]any{"group": map[string]any{"name": g}, "permission": repo.Groups[g]})
		}
	}
	writeJSON(w, http.StatusOK, page(out))
}

func (s *Server) setGroupPermission(w http.ResponseWriter, r *http.Request, repo *Repo) {
	name, perm := r.URL.Query().Get("name"), r.URL.Query().Get("permission")
	if !slices.Contains(s.groups, name) {
		writeError(w, http.StatusNotFound, "The group "+name+" does not exist.")
		return
	}
	if !slices.Contains([]string{"REPO_READ", "REPO_WRITE", "REPO_ADMIN"}, perm) {
		writeError(w, http.StatusBadRequest, "Invalid permission "+perm)
		return
	}
	repo.Groups[name] = perm
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request, repo *Repo) {
	var out []map[string]any
	for _, k := range repo.Keys {
		out = append(out, s.keyJSON(repo, k))
	}
	writeJSON(w, http.StatusOK, page(out))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, repo *Repo) {
	var body struct {
		Key struct {
			Text  string `json:"text"`
			Label string `json:"label"`
		} `json:"key"`
		Permission string `json:"permission"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	pub, ok := hostedgit.ParseKey(body.Key.Text)
	if !ok {
		writeError(w, http.StatusBadRequest, "The public key is not valid.")
		return
	}
	if body.Permission != "REPO_READ" && body.Permission != "REPO_WRITE" {
		writeError(w, http.StatusBadRequest, "Invalid permission "+body.Permission)
		return
	}
	k, added := hostedgit.AddKey(s.SSH, &repo.Keys, pub, body.Key.Text, keyText, func() AccessKey {
		s.nextID++
		return AccessKey{ID: s.nextID - 1, Label: body.Key.Label, Text: body.Key.Text, Permission: body.Permission}
	})
	if !added {
		writeError(w, http.StatusConflict, "This key is already an access key of the repository.")
		return
	}
	writeJSON(w, http.StatusCreated, s.keyJSON(repo, k))
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, repo *Repo) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if hostedgit.RemoveKey(s.SSH, &repo.Keys, id, keyID, keyText) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusNotFound, "The access key does not exist.")
}

func (s *Server) repoJSON(r *Repo) map[string]any {
	name := r.Project
	projectJSON := map[string]any{"key": r.Project, "id": 1, "name": name, "type": "NORMAL"}
	if strings.HasPrefix(r.Project, "~") {
		projectJSON = map[string]any{"key": r.Project, "id": 1, "name": r.Project[1:], "type": "PERSONAL", "owner": user(r.Project[1:])}
	}
	return map[string]any{
		"id": 1, "slug": r.Slug, "name": r.Slug, "scmId": "git", "state": "AVAILABLE", "forkable": true,
		"public": r.Public, "project": projectJSON,
		"links": map[string]any{
			"clone": []map[string]any{
				{"href": s.Git.URL(GitPath(r.Project, r.Slug)), "name": "http"},
				{"href": s.SSH.URL(GitPath(r.Project, r.Slug)), "name": "ssh"},
			},
			"self": []map[string]any{{"href": s.api.URL + "/projects/" + r.Project + "/repos/" + r.Slug + "/browse"}},
		},
	}
}

func (s *Server) keyJSON(repo *Repo, k AccessKey) map[string]any {
	return map[string]any{
		"key":        map[string]any{"id": k.ID, "text": k.Text, "label": k.Label},
		"repository": s.repoJSON(repo),
		"permission": k.Permission,
	}
}

func project(name, key string) map[string]any {
	return map[string]any{"key": key, "id": 1, "name": name, "public": false, "type": "NORMAL"}
}

func user(name string) map[string]any {
	return map[string]any{"name": name, "slug": strings.ToLower(name), "id": 1, "displayName": name, "active": true, "type": "NORMAL"}
}

// page is one (the only) page of a paged Bitbucket answer.
func page(values []map[string]any) map[string]any {
	if values == nil {
		values = []map[string]any{}
	}
	return map[string]any{"size": len(values), "limit": 25, "start": 0, "isLastPage": true, "values": values}
}

func writeJSON(w http.ResponseWriter, code int, v any) { apirecord.WriteJSON(w, code, v) }

// writeError answers as Bitbucket Server does: {"errors": [{"message"}]}.
func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]any{"errors": []map[string]any{{"context": nil, "message": message, "exceptionName": nil}}})
}

func keyID(k AccessKey) int64 { return k.ID }

func keyText(k AccessKey) string { return k.Text }
