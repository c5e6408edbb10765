package localserver

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// GitRepos is a directory of bare Git repositories, served by GitHTTP
// (and, in tests, over SSH by testserver.GitSSH). One GitRepos may be
// shared by several servers (see GitHTTPOptions.Repos) so the same
// repository is reachable over both protocols. Writes go through the git
// CLI and are serialised.
type GitRepos struct {
	root    string
	ownRoot bool
	mu      sync.Mutex
}

// Committer identity used for commits and annotated tags made by helpers.
const (
	CommitterName  = "gotk localserver"
	CommitterEmail = "localserver@gotk.dev"
)

// NewGitRepos returns a GitRepos rooted at dir, or at a new temporary
// directory (removed by Close) when dir is empty.
func NewGitRepos(dir string) (*GitRepos, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "gotk-git-")
		if err != nil {
			return nil, err
		}
		return &GitRepos{root: d, ownRoot: true}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	return &GitRepos{root: abs}, nil
}

// Close removes the root directory if NewGitRepos created it.
func (r *GitRepos) Close() {
	if r.ownRoot {
		_ = os.RemoveAll(r.root)
	}
}

// Root returns the absolute directory holding the bare repositories.
func (r *GitRepos) Root() string { return r.root }

// Path returns the absolute path of the bare repository name. name is a
// slash-separated relative path such as "podinfo" or "org/app.git".
func (r *GitRepos) Path(name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "/"))
	if name == "" || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("invalid repository name %q", name)
	}
	return filepath.Join(r.root, filepath.FromSlash(clean)), nil
}

// CreateRepo initialises the bare repository name with default branch main
// and push enabled over HTTP. It is a no-op for an existing repository.
func (r *GitRepos) CreateRepo(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.createLocked(name)
}

func (r *GitRepos) createLocked(name string) error {
	p, err := r.Path(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(p, "HEAD")); err == nil {
		return nil
	}
	if _, err := runGit("", nil, "init", "--bare", "--quiet", "--initial-branch=main", p); err != nil {
		return err
	}
	for _, kv := range [][2]string{
		{"http.receivepack", "true"},
		{"uploadpack.allowReachableSHA1InWant", "true"},
		{"uploadpack.allowTipSHA1InWant", "true"},
	} {
		if _, err := runGit(p, nil, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// fileEntry is one file of a commit: mode is a git mode (100644, 100755,
// 120000) and data the content (the link target for symlinks).
type fileEntry struct {
	mode string
	data []byte
}

// CommitFiles commits files (slash-separated path -> content, mode 100644)
// on top of branch in repository name, creating the repository and the
// branch when missing. Other files of the branch are kept. It returns the
// new commit SHA.
func (r *GitRepos) CommitFiles(name, branch string, files map[string]string, message string) (string, error) {
	entries := make(map[string]fileEntry, len(files))
	for p, c := range files {
		entries[p] = fileEntry{mode: "100644", data: []byte(c)}
	}
	return r.commit(name, branch, entries, nil, false, message)
}

// CommitSubmodule commits on branch of repository name a submodule at
// path (slash-separated): a gitlink to commit and a .gitmodules naming it
// path with url (a relative "../other" resolves against the repository's
// own URL, as git does). The .gitmodules written lists this submodule
// only. It returns the new commit SHA.
func (r *GitRepos) CommitSubmodule(name, branch, path, url, commit string) (string, error) {
	if strings.ContainsAny(path+url, "\"\n") {
		return "", fmt.Errorf("submodule path %q or URL %q holds a quote or newline", path, url)
	}
	if len(commit) != 40 || strings.Trim(commit, "0123456789abcdef") != "" {
		return "", fmt.Errorf("submodule commit %q is not a full SHA-1", commit)
	}
	modules := fmt.Sprintf("[submodule \"%s\"]\n\tpath = %s\n\turl = %s\n", path, path, url)
	return r.commit(name, branch, map[string]fileEntry{
		".gitmodules": {mode: "100644", data: []byte(modules)},
		path:          {mode: gitlinkMode, data: []byte(commit)},
	}, nil, false, "Add submodule "+path)
}

// gitlinkMode is the tree mode of a submodule's commit.
const gitlinkMode = "160000"

// DeleteFiles commits the removal of paths from branch in repository name
// and returns the new commit SHA.
func (r *GitRepos) DeleteFiles(name, branch string, paths []string, message string) (string, error) {
	return r.commit(name, branch, nil, paths, false, message)
}

// InitRepoFromDir creates repository name if needed and commits the
// contents of dir to branch so that the branch's tree equals dir (files no
// longer in dir are removed). Executable bits and symlinks are kept; .git
// directories are skipped. It returns the new commit SHA.
func (r *GitRepos) InitRepoFromDir(name, dir, branch string) (string, error) {
	entries := map[string]fileEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || d.IsDir() {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries[rel] = fileEntry{mode: "120000", data: []byte(target)}
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			mode := "100644"
			if info.Mode()&0o111 != 0 {
				mode = "100755"
			}
			entries[rel] = fileEntry{mode: mode, data: data}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return r.commit(name, branch, entries, nil, true, "Import "+filepath.Base(dir))
}

// commit writes one commit with git fast-import. replace starts from an
// empty tree instead of the branch's current tree.
func (r *GitRepos) commit(name, branch string, files map[string]fileEntry, deletes []string, replace bool, message string) (string, error) {
	if branch == "" {
		branch = "main"
	}
	if err := checkRefName("heads", branch); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.createLocked(name); err != nil {
		return "", err
	}
	repo, _ := r.Path(name)
	ref := "refs/heads/" + branch

	var b bytes.Buffer
	fmt.Fprintf(&b, "commit %s\n", ref)
	fmt.Fprintf(&b, "author %s <%s> now\n", CommitterName, CommitterEmail)
	fmt.Fprintf(&b, "committer %s <%s> now\n", CommitterName, CommitterEmail)
	fmt.Fprintf(&b, "data %d\n%s\n", len(message), message)
	if _, err := runGit(repo, nil, "rev-parse", "--verify", "--quiet", ref); err == nil {
		fmt.Fprintf(&b, "from %s^0\n", ref)
	}
	if replace {
		b.WriteString("deleteall\n")
	}
	for _, p := range deletes {
		clean, err := CleanRepoPath(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "D %s\n", clean)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		clean, err := CleanRepoPath(p)
		if err != nil {
			return "", err
		}
		f := files[p]
		if f.mode == gitlinkMode {
			// fast-import takes a gitlink's commit in place of data.
			fmt.Fprintf(&b, "M %s %s %s\n", f.mode, f.data, clean)
			continue
		}
		fmt.Fprintf(&b, "M %s inline %s\ndata %d\n", f.mode, clean, len(f.data))
		b.Write(f.data)
		b.WriteString("\n")
	}
	b.WriteString("done\n")
	if _, err := runGit(repo, &b, "fast-import", "--quiet", "--date-format=now", "--done"); err != nil {
		return "", err
	}
	return r.resolveLocked(repo, ref)
}

// Tag creates the lightweight tag tag in repository name pointing at rev (a
// commit SHA or any revision git understands).
func (r *GitRepos) Tag(name, tag, rev string) error {
	return r.tag(name, tag, rev, "")
}

// AnnotatedTag creates the annotated tag tag in repository name pointing at
// rev, with message.
func (r *GitRepos) AnnotatedTag(name, tag, rev, message string) error {
	if message == "" {
		message = tag
	}
	return r.tag(name, tag, rev, message)
}

func (r *GitRepos) tag(name, tag, rev, message string) error {
	if err := checkRefName("tags", tag); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	repo, err := r.Path(name)
	if err != nil {
		return err
	}
	sha, err := r.resolveLocked(repo, rev+"^{commit}")
	if err != nil {
		return err
	}
	if message == "" {
		_, err = runGit(repo, nil, "update-ref", "refs/tags/"+tag, sha)
	} else {
		_, err = runGit(repo, nil, "tag", "--force", "--annotate", "--message", message, tag, sha)
	}
	return err
}

// Resolve returns the commit SHA that rev (a branch, tag or SHA) points to
// in repository name.
func (r *GitRepos) Resolve(name, rev string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	repo, err := r.Path(name)
	if err != nil {
		return "", err
	}
	return r.resolveLocked(repo, rev+"^{commit}")
}

func (r *GitRepos) resolveLocked(repo, rev string) (string, error) {
	out, err := runGit(repo, nil, "rev-parse", "--verify", "--quiet", rev)
	if err != nil {
		return "", fmt.Errorf("resolve %q in %s: %w", rev, filepath.Base(repo), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// checkRefName validates a branch or tag name with git check-ref-format.
func checkRefName(kind, name string) error {
	if _, err := runGit("", nil, "check-ref-format", "refs/"+kind+"/"+name); err != nil {
		return fmt.Errorf("invalid %s name %q", strings.TrimSuffix(kind, "s"), name)
	}
	return nil
}

// CleanRepoPath validates a slash-separated file path inside a repository
// (relative, not escaping it, no .git part) and returns it cleaned.
func CleanRepoPath(p string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(p, "/"))
	bad := clean == "." || clean == ".." || strings.HasPrefix(clean, "../") ||
		strings.ContainsAny(clean, "\n\x00") || strings.HasPrefix(clean, `"`)
	for _, part := range strings.Split(clean, "/") {
		bad = bad || part == ".git"
	}
	if bad {
		return "", fmt.Errorf("invalid file path %q", p)
	}
	return clean, nil
}

// gitEnv is the environment for git processes: no system or global config,
// no prompts, a fixed identity.
func GitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+CommitterName, "GIT_AUTHOR_EMAIL="+CommitterEmail,
		"GIT_COMMITTER_NAME="+CommitterName, "GIT_COMMITTER_EMAIL="+CommitterEmail,
	)
}

// runGit runs git with args (in gitDir via --git-dir when set) and returns
// stdout; stderr is included in the error.
func runGit(gitDir string, stdin *bytes.Buffer, args ...string) ([]byte, error) {
	if gitDir != "" {
		args = append([]string{"--git-dir=" + gitDir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = GitEnv()
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, errors.New("git " + strings.Join(args, " ") + ": " + msg)
	}
	return stdout.Bytes(), nil
}
