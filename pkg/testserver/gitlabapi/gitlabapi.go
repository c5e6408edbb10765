// Package gitlabapi is a local server speaking the part of GitLab's
// documented REST API (v4) that bootstrap calls: the token's user, users
// and groups, projects, their group shares and deploy keys. Its projects
// are real: each one is a bare repository of a local Git smart-HTTP server
// (authenticated with the token) and Git SSH server (authenticated with
// the registered deploy keys), and the API answers with those servers'
// clone URLs. Every request is recorded.
package gitlabapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"gotk.dev/pkg/testserver"
	"gotk.dev/pkg/testserver/apirecord"
	"gotk.dev/pkg/testserver/hostedgit"
)

// Project is the server's state of one project.
type Project struct {
	ID         int64
	Namespace  string
	Path       string
	Visibility string
	// SharedWith maps a group path to its access level.
	SharedWith map[string]int64
	Keys       []DeployKey
}

// DeployKey is a registered deploy key.
type DeployKey struct {
	ID      int64
	Title   string
	Key     string
	CanPush bool
}

// Server is the fake GitLab API with its Git servers.
type Server struct {
	// Git and SSH serve the projects' content.
	Git *testserver.GitHTTP
	SSH *testserver.GitSSH
	apirecord.Recorder

	api      *httptest.Server
	token    string
	username string

	mu       sync.Mutex
	users    map[string]int64
	groups   map[string]int64 // full path → id
	projects map[string]*Project
	nextID   int64
}

// New starts a server whose token is token and belongs to user username.
func New(t testing.TB, token, username string) *Server {
	t.Helper()
	s := &Server{
		token: token, username: username,
		users: map[string]int64{username: 1}, groups: map[string]int64{}, projects: map[string]*Project{}, nextID: 100,
	}
	s.Git, s.SSH = hostedgit.NewGitServers(t, token)
	s.api = hostedgit.StartAPI(t, s.routes())
	return s
}

// URL is the API's base URL, ending in /api/v4/.
func (s *Server) URL() string { return s.api.URL + "/api/v4/" }

// AddUser makes a user known.
func (s *Server) AddUser(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[username] = s.id()
}

// AddGroup makes a group known by its full path.
func (s *Server) AddGroup(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[path] = s.id()
}

// AddProject creates an existing project (empty) outside the API.
func (s *Server) AddProject(namespace, path, visibility string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.createLocked(namespace, path, visibility)
	return err
}

// Project returns a copy of a project's state, or nil.
func (s *Server) Project(namespace, path string) *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[namespace+"/"+path]
	if !ok {
		return nil
	}
	c := *p
	c.SharedWith = map[string]int64{}
	for k, v := range p.SharedWith {
		c.SharedWith[k] = v
	}
	c.Keys = append([]DeployKey(nil), p.Keys...)
	return &c
}

// GitPath is the name of a project on the Git servers.
func GitPath(namespace, path string) string { return hostedgit.GitPath(namespace, path) }

func (s *Server) id() int64 { s.nextID++; return s.nextID }

func (s *Server) createLocked(namespace, path, visibility string) (*Project, error) {
	if err := s.Git.CreateRepo(GitPath(namespace, path)); err != nil {
		return nil, err
	}
	if visibility == "" {
		visibility = "private"
	}
	p := &Project{ID: s.id(), Namespace: namespace, Path: path, Visibility: visibility, SharedWith: map[string]int64{}}
	s.projects[namespace+"/"+path] = p
	return p, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// repoHandler serves fn with the path's repository, under the lock.
	repoHandler := func(fn func(http.ResponseWriter, *http.Request, *Project)) http.HandlerFunc {
		return hostedgit.WithRepo(&s.mu, s.lookup, fn)
	}
	mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "username": s.username})
	})
	mux.HandleFunc("GET /api/v4/users", s.listUsers)
	mux.HandleFunc("GET /api/v4/groups/{id}", s.getGroup)
	mux.HandleFunc("POST /api/v4/projects", s.createProject)
	mux.HandleFunc("GET /api/v4/projects/{id}", repoHandler(s.getProject))
	mux.HandleFunc("PUT /api/v4/projects/{id}", repoHandler(s.editProject))
	mux.HandleFunc("POST /api/v4/projects/{id}/share", repoHandler(s.share))
	mux.HandleFunc("GET /api/v4/projects/{id}/deploy_keys", repoHandler(s.listKeys))
	mux.HandleFunc("POST /api/v4/projects/{id}/deploy_keys", s.addKey)
	mux.HandleFunc("DELETE /api/v4/projects/{id}/deploy_keys/{key}", repoHandler(s.deleteKey))
	return s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("PRIVATE-TOKEN") != s.token && r.Header.Get("Authorization") != "Bearer "+s.token {
			writeError(w, http.StatusUnauthorized, "401 Unauthorized")
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	name := r.URL.Query().Get("username")
	if id, ok := s.users[name]; ok {
		out = append(out, map[string]any{"id": id, "username": name})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := r.PathValue("id")
	id, ok := s.groups[path]
	if !ok {
		writeError(w, http.StatusNotFound, "404 Group Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "path": path, "full_path": path})
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name, Path, Visibility string
		NamespaceID            int64 `json:"namespace_id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Path == "" {
		body.Path = body.Name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	namespace := s.username
	if body.NamespaceID != 0 {
		namespace = ""
		for path, id := range s.groups {
			if id == body.NamespaceID {
				namespace = path
			}
		}
		if namespace == "" {
			writeError(w, http.StatusNotFound, "404 Namespace Not Found")
			return
		}
	}
	if _, exists := s.projects[namespace+"/"+body.Path]; exists || body.Path == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"path": []string{"has already been taken"}}})
		return
	}
	p, err := s.createLocked(namespace, body.Path, body.Visibility)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, s.projectJSON(p))
}

// lookup returns the project of the path ({id}: numeric or the URL-encoded
// full path), or answers 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *Project {
	id := r.PathValue("id")
	for full, p := range s.projects {
		if full == id || strconv.FormatInt(p.ID, 10) == id {
			return p
		}
	}
	writeError(w, http.StatusNotFound, "404 Project Not Found")
	return nil
}

func (s *Server) getProject(w http.ResponseWriter, _ *http.Request, p *Project) {
	writeJSON(w, http.StatusOK, s.projectJSON(p))
}

func (s *Server) editProject(w http.ResponseWriter, r *http.Request, p *Project) {
	var body struct{ Visibility string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.Visibility != "" {
		p.Visibility = body.Visibility
	}
	writeJSON(w, http.StatusOK, s.projectJSON(p))
}

func (s *Server) share(w http.ResponseWriter, r *http.Request, p *Project) {
	var body struct {
		GroupID     int64 `json:"group_id"`
		GroupAccess int64 `json:"group_access"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	for path, id := range s.groups {
		if id == body.GroupID {
			p.SharedWith[path] = body.GroupAccess
			writeJSON(w, http.StatusCreated, map[string]any{"id": 1, "project_id": p.ID, "group_id": id, "group_access": body.GroupAccess})
			return
		}
	}
	writeError(w, http.StatusNotFound, "404 Group Not Found")
}

func (s *Server) listKeys(w http.ResponseWriter, _ *http.Request, p *Project) {
	writeJSON(w, http.StatusOK, hostedgit.ListJSON(p.Keys, keyJSON))
}

func (s *Server) addKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Title, Key string
		CanPush    bool `json:"can_push"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	pub, ok := hostedgit.ParseKey(body.Key)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"key": []string{"is invalid"}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookup(w, r)
	if p == nil {
		return
	}
	k, added := hostedgit.AddKey(s.SSH, &p.Keys, pub, body.Key, keyText, func() DeployKey {
		return DeployKey{ID: s.id(), Title: body.Title, Key: body.Key, CanPush: body.CanPush}
	})
	if !added {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"deploy_key.fingerprint_sha256": []string{"has already been taken"}}})
		return
	}
	writeJSON(w, http.StatusCreated, keyJSON(k))
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, p *Project) {
	id, _ := strconv.ParseInt(r.PathValue("key"), 10, 64)
	if hostedgit.RemoveKey(s.SSH, &p.Keys, id, keyID, keyText) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusNotFound, "404 Deploy Key Not Found")
}

func (s *Server) projectJSON(p *Project) map[string]any {
	shared := []map[string]any{}
	for path, access := range p.SharedWith {
		shared = append(shared, map[string]any{"group_id": s.groups[path], "group_name": path, "group_full_path": path, "group_access_level": access})
	}
	full := p.Namespace + "/" + p.Path
	return map[string]any{
		"id": p.ID, "name": p.Path, "path": p.Path, "path_with_namespace": full, "visibility": p.Visibility,
		"default_branch": "main", "shared_with_groups": shared,
		"http_url_to_repo": s.Git.URL(GitPath(p.Namespace, p.Path)), "ssh_url_to_repo": s.SSH.URL(GitPath(p.Namespace, p.Path)),
		"web_url": s.api.URL + "/" + full,
	}
}

func keyJSON(k DeployKey) map[string]any {
	return map[string]any{"id": k.ID, "title": k.Title, "key": k.Key, "can_push": k.CanPush, "created_at": "1970-01-01T00:00:00Z"}
}

func writeJSON(w http.ResponseWriter, code int, v any) { apirecord.WriteJSON(w, code, v) }

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]any{"message": fmt.Sprint(message)})
}

func keyID(k DeployKey) int64 { return k.ID }

func keyText(k DeployKey) string { return k.Key }
