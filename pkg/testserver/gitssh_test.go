package testserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshAuth builds go-git SSH auth from key that checks the host against the
// given known_hosts lines.
func sshAuth(t *testing.T, key *ClientKey, knownHostsLines ...string) *gitssh.PublicKeys {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	var content string
	for _, l := range knownHostsLines {
		content += l + "\n"
	}
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := gitssh.NewPublicKeys("git", key.PrivateKeyPEM, "")
	if err != nil {
		t.Fatalf("parsing generated key: %v", err)
	}
	auth.HostKeyCallback = cb
	return auth
}

func TestGitSSHCloneAndPush(t *testing.T) {
	s := NewGitSSHForTest(t, GitSSHOptions{})
	sha, err := s.CommitFiles("app", "main", map[string]string{"README.md": "over ssh\n"}, "init")
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	auth := sshAuth(t, key, s.KnownHostsLine())

	r, err := clone(t, s.URL("app"), auth, nil)
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	if head, _ := r.Head(); head.Hash().String() != sha {
		t.Fatalf("HEAD = %s, want %s", head.Hash(), sha)
	}
	if readFile(t, r, "README.md") != "over ssh\n" {
		t.Fatal("README.md content")
	}
	pushed := commitAndPush(t, r, auth, nil, "b.txt", "b")
	if got, _ := s.Resolve("app", "main"); got != pushed {
		t.Fatalf("server main = %s, want %s", got, pushed)
	}

	// Concurrent connections.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			if _, err := clone(t, s.URL("app"), auth, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent clone: %v", err)
	}
}

func TestGitSSHRejects(t *testing.T) {
	s := NewGitSSHForTest(t, GitSSHOptions{})
	if _, err := s.CommitFiles("app", "main", map[string]string{"a": "a"}, "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewClientKey(); err != nil {
		t.Fatal(err)
	}
	stranger, err := GenerateClientKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clone(t, s.URL("app"), sshAuth(t, stranger, s.KnownHostsLine()), nil); err == nil {
		t.Fatal("clone with an unknown key succeeded")
	}

	// A known_hosts entry with another key for this address is refused.
	good, err := s.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateClientKey()
	wrongHost := knownhosts.Line([]string{s.Addr()}, other.PublicKey)
	_, err = clone(t, s.URL("app"), sshAuth(t, good, wrongHost), nil)
	var keyErr *knownhosts.KeyError
	if !errors.As(err, &keyErr) {
		t.Fatalf("clone with wrong host key: err = %v, want knownhosts.KeyError", err)
	}
}

func TestGitSSHExitStatus(t *testing.T) {
	s := NewGitSSHForTest(t, GitSSHOptions{})
	key, err := s.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRepo("app"); err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key.Signer)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	run := func(cmd string) (string, error) {
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out, err := sess.CombinedOutput(cmd)
		return string(out), err
	}
	for _, cmd := range []string{"ls /", "git-upload-pack '/missing'", "git-upload-pack '/../etc'"} {
		out, err := run(cmd)
		var exitErr *ssh.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 128 {
			t.Errorf("%q: err = %v (output %q), want exit status 128", cmd, err, out)
		}
	}
	// Like `git ls-remote`: read the advertisement, answer with a flush
	// packet and close stdin; upload-pack exits 0.
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	sess.Stdin = strings.NewReader("0000")
	out, err := sess.Output("git-upload-pack '/app'")
	if err != nil {
		t.Fatalf("upload-pack: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("no ref advertisement")
	}
}

func TestGitSharedRepos(t *testing.T) {
	repos, err := NewGitRepos("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repos.Close)
	httpSrv := NewGitHTTPForTest(t, GitHTTPOptions{Repos: repos})
	sshSrv := NewGitSSHForTest(t, GitSSHOptions{Repos: repos})
	if _, err := repos.CommitFiles("shared", "main", map[string]string{"a": "a"}, "init"); err != nil {
		t.Fatal(err)
	}
	key, _ := sshSrv.NewClientKey()
	r, err := clone(t, sshSrv.URL("shared"), sshAuth(t, key, sshSrv.KnownHostsLine()), nil)
	if err != nil {
		t.Fatal(err)
	}
	pushed := commitAndPush(t, r, sshAuth(t, key, sshSrv.KnownHostsLine()), nil, "b", "b")
	r2, err := clone(t, httpSrv.URL("shared"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head, _ := r2.Head(); head.Hash().String() != pushed {
		t.Fatalf("HTTP sees %s, want %s", head.Hash(), pushed)
	}
}

func TestGitSSHClose(t *testing.T) {
	s, err := NewGitSSH(GitSSHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := s.NewClientKey()
	cfg := &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key.Signer)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
	}
	client, err := ssh.Dial("tcp", s.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	root := s.Root()
	s.Close() // must not hang on the idle connection
	if _, err := client.NewSession(); err == nil {
		t.Fatal("session on a closed server")
	}
	if _, err := ssh.Dial("tcp", s.Addr(), cfg); err == nil {
		t.Fatal("dial after Close succeeded")
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("repository root not removed: %v", err)
	}
	s.Close() // idempotent
}
