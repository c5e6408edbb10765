package testserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"gotk.dev/pkg/localserver"
)

// GitSSHOptions configures a GitSSH server.
type GitSSHOptions struct {
	// Repos shares an existing repository root (for example with a GitHTTP
	// server). When nil the server gets its own temporary root.
	Repos *GitRepos
}

// GitSSH serves the bare repositories of a GitRepos over SSH, running
// git-upload-pack and git-receive-pack for exec requests. Clients
// authenticate with public keys added through AuthorizeKey or
// NewClientKey; any user name is accepted. The embedded GitRepos provides
// CreateRepo, CommitFiles and friends.
type GitSSH struct {
	*GitRepos
	ownsRepos bool
	ln        net.Listener
	hostKey   ssh.Signer
	config    *ssh.ServerConfig

	mu         sync.Mutex
	authorized map[string]bool // ssh.PublicKey.Marshal() as string
	conns      map[net.Conn]struct{}
	closed     bool
	wg         sync.WaitGroup
}

// ClientKey is an SSH client key pair.
type ClientKey struct {
	// PrivateKeyPEM is the private key in OpenSSH format
	// ("-----BEGIN OPENSSH PRIVATE KEY-----").
	PrivateKeyPEM []byte
	// PublicKey is the public half.
	PublicKey ssh.PublicKey
	// Signer signs with the private key (for golang.org/x/crypto/ssh clients).
	Signer ssh.Signer
}

// AuthorizedKey returns the public key in authorized_keys format, without
// a trailing newline.
func (k *ClientKey) AuthorizedKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey)))
}

// GenerateClientKey generates an ed25519 SSH key pair. It is not authorised
// anywhere; see GitSSH.AuthorizeKey and GitSSH.NewClientKey.
func GenerateClientKey() (*ClientKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "gotk-testserver")
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	return &ClientKey{
		PrivateKeyPEM: pem.EncodeToMemory(block),
		PublicKey:     signer.PublicKey(),
		Signer:        signer,
	}, nil
}

// NewGitSSH starts an SSH Git server on 127.0.0.1 at a random port with a
// fresh ed25519 host key.
func NewGitSSH(opts GitSSHOptions) (*GitSSH, error) {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	s := &GitSSH{
		GitRepos:   opts.Repos,
		hostKey:    hostKey,
		authorized: map[string]bool{},
		conns:      map[net.Conn]struct{}{},
	}
	if s.GitRepos == nil {
		if s.GitRepos, err = NewGitRepos(""); err != nil {
			return nil, err
		}
		s.ownsRepos = true
	}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			ok := s.authorized[string(key.Marshal())]
			s.mu.Unlock()
			if !ok {
				return nil, errors.New("unknown public key")
			}
			return &ssh.Permissions{}, nil
		},
	}
	s.config.AddHostKey(hostKey)
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		if s.ownsRepos {
			s.GitRepos.Close()
		}
		return nil, err
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// NewGitSSHForTest is NewGitSSH that fails t on error and closes the server
// in t.Cleanup.
func NewGitSSHForTest(t testing.TB, opts GitSSHOptions) *GitSSH {
	t.Helper()
	s, err := NewGitSSH(opts)
	return forTest(t, s, err)
}

// AuthorizeKey allows clients holding the private half of key.
func (s *GitSSH) AuthorizeKey(key ssh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorized[string(key.Marshal())] = true
}

// RevokeKey withdraws a key AuthorizeKey allowed; open sessions go on.
func (s *GitSSH) RevokeKey(key ssh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authorized, string(key.Marshal()))
}

// NewClientKey generates an ed25519 client key and authorises it.
func (s *GitSSH) NewClientKey() (*ClientKey, error) {
	k, err := GenerateClientKey()
	if err != nil {
		return nil, err
	}
	s.AuthorizeKey(k.PublicKey)
	return k, nil
}

// Addr returns "127.0.0.1:port".
func (s *GitSSH) Addr() string { return s.ln.Addr().String() }

// URL returns the clone URL of repository repo:
// ssh://git@127.0.0.1:port/<repo>.
func (s *GitSSH) URL(repo string) string {
	return fmt.Sprintf("ssh://git@%s/%s", s.Addr(), strings.TrimPrefix(repo, "/"))
}

// HostKey returns the server's public host key.
func (s *GitSSH) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// KnownHostsLine returns the known_hosts line for the server, e.g.
// "[127.0.0.1]:34567 ssh-ed25519 AAAA...", without a trailing newline.
func (s *GitSSH) KnownHostsLine() string {
	return knownhosts.Line([]string{s.Addr()}, s.HostKey())
}

// Close stops accepting connections, closes open ones, waits for their
// handlers and removes the repositories unless they were passed in.
func (s *GitSSH) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.ownsRepos {
		s.GitRepos.Close()
	}
}

func (s *GitSSH) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handleConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *GitSSH) handleConn(c net.Conn) {
	defer c.Close()
	sconn, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return // handshake or authentication failed
	}
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handleSession(ch, chReqs)
		}()
	}
}

// handleSession serves one session channel: env requests for GIT_PROTOCOL
// are honoured, the first exec request runs the git command, anything else
// is refused.
func (s *GitSSH) handleSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL"
			if ok {
				env = append(env, kv.Name+"="+kv.Value)
			}
			_ = req.Reply(ok, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			cmd, err := s.gitCommand(p.Command)
			if err != nil {
				_ = req.Reply(true, nil)
				fmt.Fprintf(ch.Stderr(), "testserver: %v\n", err)
				sendExitStatus(ch, 128)
				return
			}
			_ = req.Reply(true, nil)
			cmd.Env = append(localserver.GitEnv(), env...)
			sendExitStatus(ch, runOnChannel(cmd, ch))
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// gitCommand parses "git-upload-pack '/repo'" (or "git upload-pack ...")
// and returns the command to run against the repository under the root.
func (s *GitSSH) gitCommand(line string) (*exec.Cmd, error) {
	line = strings.TrimSpace(line)
	var verb, arg string
	for _, v := range []string{"git-upload-pack", "git-receive-pack", "git upload-pack", "git receive-pack"} {
		if rest, ok := strings.CutPrefix(line, v+" "); ok {
			verb, arg = strings.TrimPrefix(strings.TrimPrefix(v, "git-"), "git "), strings.TrimSpace(rest)
			break
		}
	}
	if verb == "" {
		return nil, fmt.Errorf("command not allowed: %q", line)
	}
	if len(arg) >= 2 && (arg[0] == '\'' || arg[0] == '"') && arg[len(arg)-1] == arg[0] {
		arg = arg[1 : len(arg)-1]
	}
	repo, err := s.Path(arg)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		return nil, fmt.Errorf("repository %q not found", arg)
	}
	return exec.Command("git", verb, repo), nil
}

// runOnChannel runs cmd with its stdio wired to ch and returns the exit
// code. Stdin is copied by our own goroutine so that a client that keeps
// its side open cannot block Wait.
func runOnChannel(cmd *exec.Cmd, ch ssh.Channel) uint32 {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 128
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "testserver: %v\n", err)
		return 128
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() > 0 {
			return uint32(exitErr.ExitCode())
		}
		return 128
	}
	return 0
}

// sendExitStatus sends the "exit-status" request followed by EOF; the
// caller closes the channel.
func sendExitStatus(ch ssh.Channel, code uint32) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
	_ = ch.CloseWrite()
}
