package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"
)

// A controller whose libraries run the git program (kustomize's loader
// clones remote bases with it) can answer as that program itself, so its
// image needs no git: InstallCommand puts a "git" link to the running
// executable first on PATH, and main starts with
//
//	if git.InvokedAsCommand() {
//		os.Exit(git.RunCommand(os.Args[1:], os.Stderr))
//	}
//
// RunCommand implements exactly what kustomize's cloner runs, in the
// clone directory it creates:
//
//	git init
//	git remote add origin <url>
//	git fetch --depth=1 <url> <ref>
//	git checkout FETCH_HEAD
//	git submodule update --init --recursive
//
// on this package's clone path: URLs parsed by ParseURL (http, https, ssh;
// never file:// or a command transport), packs streamed to disk and
// counted against a size limit that covers the fetch and the submodules
// together, a deadline on every command, and no credentials (remote bases
// are fetched anonymously; SSH, which always needs known_hosts here, is
// refused).

// CommandName is the program name RunCommand answers to.
const CommandName = "git"

// Environment variables InstallCommand sets for the commands it serves.
const (
	envCommandMaxBytes = "GOTK_GIT_COMMAND_MAX_BYTES"
	envCommandTimeout  = "GOTK_GIT_COMMAND_TIMEOUT"
)

// CommandLimits bound every command RunCommand serves.
type CommandLimits struct {
	// MaxBytes is the most a clone (with its submodules) may fetch and
	// check out; 0 is unlimited.
	MaxBytes int64
	// Timeout is the deadline of each command.
	Timeout time.Duration
}

// InvokedAsCommand reports whether this process was started as the git
// program (through the link InstallCommand makes).
func InvokedAsCommand() bool {
	return filepath.Base(os.Args[0]) == CommandName
}

// InstallCommand makes a directory under os.TempDir holding a "git" link
// to the running executable, puts it first on this process's PATH (which
// its children inherit) and records limits for the commands. It returns
// the directory.
func InstallCommand(limits CommandLimits) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the running executable: %w", err)
	}
	dir, err := os.MkdirTemp("", "gotk-git-")
	if err != nil {
		return "", err
	}
	if err := os.Symlink(exe, filepath.Join(dir, CommandName)); err != nil {
		return "", err
	}
	path := dir
	if old := os.Getenv("PATH"); old != "" {
		path += string(os.PathListSeparator) + old
	}
	for k, v := range map[string]string{
		"PATH":             path,
		envCommandMaxBytes: strconv.FormatInt(limits.MaxBytes, 10),
		envCommandTimeout:  limits.Timeout.String(),
	} {
		if err := os.Setenv(k, v); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// commandLimits reads what InstallCommand recorded.
func commandLimits() CommandLimits {
	l := CommandLimits{Timeout: 5 * time.Minute}
	if n, err := strconv.ParseInt(os.Getenv(envCommandMaxBytes), 10, 64); err == nil && n >= 0 {
		l.MaxBytes = n
	}
	if d, err := time.ParseDuration(os.Getenv(envCommandTimeout)); err == nil && d > 0 {
		l.Timeout = d
	}
	return l
}

// RunCommand runs one git command in the working directory (see above)
// and returns its exit status; errors are written to stderr as git does.
func RunCommand(args []string, stderr io.Writer) int {
	dir, err := os.Getwd()
	if err == nil {
		limits := commandLimits()
		ctx, cancel := context.WithTimeout(context.Background(), limits.Timeout)
		defer cancel()
		err = runCommand(ctx, dir, args, limits.MaxBytes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fatal: %v\n", err)
		return 128
	}
	return 0
}

// errUnsupportedCommand names a command outside the subset kustomize uses.
var errUnsupportedCommand = errors.New("this built-in git implements only what kustomize's remote bases need")

func runCommand(ctx context.Context, dir string, args []string, maxBytes int64) error {
	switch strings.Join(args, " ") {
	case "init":
		_, err := initCheckout(dir, nil)
		return err
	case "checkout FETCH_HEAD":
		return checkoutFetchHead(dir, maxBytes)
	case "submodule update --init --recursive":
		return submoduleUpdate(ctx, dir, maxBytes)
	}
	switch {
	case len(args) == 4 && args[0] == "remote" && args[1] == "add":
		return remoteAdd(dir, args[2], args[3])
	case len(args) == 4 && args[0] == "fetch" && args[1] == "--depth=1":
		return fetchRef(ctx, dir, args[2], args[3], maxBytes)
	}
	return fmt.Errorf("%w: 'git %s' is not supported", errUnsupportedCommand, strings.Join(args, " "))
}

func remoteAdd(dir, name, rawURL string) error {
	u, err := ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("remote %s: %w", name, err)
	}
	repo, err := openCheckout(dir, nil)
	if err != nil {
		return err
	}
	_, err = repo.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{u.String()}})
	return err
}

const fetchHead = plumbing.ReferenceName("FETCH_HEAD")

// fetchRef fetches ref from rawURL (origin's URL) at depth 1 and points
// FETCH_HEAD at its commit.
func fetchRef(ctx context.Context, dir, rawURL, ref string, maxBytes int64) error {
	u, err := ParseURL(rawURL)
	if err != nil {
		return err
	}
	repo, err := openCheckout(dir, &fetchBudget{limit: maxBytes})
	if err != nil {
		return err
	}
	if origin, err := repo.Remote("origin"); err != nil || origin.Config().URLs[0] != u.String() {
		return fmt.Errorf("fetch %s: only origin's URL can be fetched", u)
	}
	am, err := (&Auth{}).transportAuth(u)
	if err != nil {
		return err
	}
	res, err := resolveFetchRef(ctx, u, ref)
	if err != nil {
		return err
	}
	fo := &gogit.FetchOptions{RemoteName: "origin", Auth: am, Tags: gogit.NoTags}
	if err := fetch(ctx, repo, u, res, fo); err != nil {
		return err
	}
	hash := plumbing.NewHash(res.Commit)
	if res.RefName != "" {
		if hash, err = peeledCommit(repo, res.RefName); err != nil {
			return fmt.Errorf("fetch %s: %w", describeRef(res), err)
		}
	}
	if _, err := repo.CommitObject(hash); err != nil {
		return &RefNotFoundError{Ref: fmt.Sprintf("commit '%s'", res.Commit)}
	}
	return repo.Storer.SetReference(plumbing.NewHashReference(fetchHead, hash))
}

// resolveFetchRef resolves what git fetch accepts as ref: a full commit
// hash, HEAD, or a name matched as git does (the name itself, refs/<name>,
// refs/tags/<name>, refs/heads/<name>, first match).
func resolveFetchRef(ctx context.Context, u *URL, ref string) (*Resolution, error) {
	if (len(ref) == 40 || len(ref) == 64) && strings.Trim(strings.ToLower(ref), "0123456789abcdef") == "" {
		return &Resolution{Commit: strings.ToLower(ref)}, nil
	}
	if ref != "HEAD" && !validRefName(ref) {
		return nil, fmt.Errorf("invalid ref %q", ref)
	}
	am, err := (&Auth{}).transportAuth(u)
	if err != nil {
		return nil, err
	}
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{u.String()}})
	list, err := remote.ListContext(ctx, &gogit.ListOptions{Auth: am})
	if err != nil {
		return nil, classify(u, "list references", err)
	}
	advertised := map[string]*plumbing.Reference{}
	for _, r := range list {
		advertised[r.Name().String()] = r
	}
	if ref == "HEAD" {
		head, ok := advertised["HEAD"]
		switch {
		case !ok:
			return nil, &RefNotFoundError{Ref: "HEAD"}
		case head.Type() == plumbing.SymbolicReference:
			return &Resolution{RefName: head.Target().String(), Short: head.Target().Short(), Shallow: true}, nil
		}
		return &Resolution{Commit: head.Hash().String()}, nil
	}
	for _, name := range []string{ref, "refs/" + ref, "refs/tags/" + ref, "refs/heads/" + ref} {
		if _, ok := advertised[name]; ok && strings.HasPrefix(name, "refs/") {
			return &Resolution{RefName: name, Short: ref, Shallow: true}, nil
		}
	}
	return nil, &RefNotFoundError{Ref: fmt.Sprintf("ref '%s'", ref)}
}

// checkoutFetchHead checks out FETCH_HEAD and bounds the files' size.
func checkoutFetchHead(dir string, maxBytes int64) error {
	repo, err := openCheckout(dir, nil)
	if err != nil {
		return err
	}
	ref, err := repo.Reference(fetchHead, true)
	if err != nil {
		return fmt.Errorf("nothing fetched: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.Checkout(&gogit.CheckoutOptions{Hash: ref.Hash(), Force: true}); err != nil {
		return fmt.Errorf("checkout %s: %w", ref.Hash(), err)
	}
	if maxBytes > 0 {
		return checkSize(dir, maxBytes)
	}
	return nil
}

// submoduleUpdate clones the submodules of the checked-out commit,
// counting what the fetch already received against the limit.
func submoduleUpdate(ctx context.Context, dir string, maxBytes int64) error {
	budget := &fetchBudget{limit: maxBytes}
	if maxBytes > 0 {
		used, err := dirSize(filepath.Join(dir, ".git"))
		if err != nil {
			return err
		}
		budget.used = used
	}
	repo, err := openCheckout(dir, budget)
	if err != nil {
		return err
	}
	origin, err := repo.Remote("origin")
	if err != nil {
		return err
	}
	u, err := ParseURL(origin.Config().URLs[0])
	if err != nil {
		return err
	}
	head, err := repo.Head()
	if err != nil {
		return err
	}
	if err := updateSubmodules(ctx, repo, dir, head.Hash(), u, nil, budget, 1); err != nil {
		return err
	}
	if maxBytes > 0 {
		return checkSize(dir, maxBytes)
	}
	return nil
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	return total, err
}
