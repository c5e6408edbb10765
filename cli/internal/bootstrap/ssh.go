package bootstrap

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"gotk.dev/pkg/git"
)

// GenerateKey returns a new ed25519 deploy key: the private key in
// OpenSSH PEM form and the public key in authorized_keys form.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "gotk")
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), ssh.MarshalAuthorizedKey(sshPub), nil
}

// errHostKeySeen stops the handshake once the host key is known.
var errHostKeySeen = errors.New("host key recorded")

// ScanKnownHosts connects to the SSH server of u and returns a known_hosts
// line for the key it presents (trust on first use, as `ssh-keyscan`).
func ScanKnownHosts(ctx context.Context, u *git.URL) ([]byte, error) {
	addr := u.HostPort()
	var line string
	cfg := &ssh.ClientConfig{
		User: u.User,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			line = knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)
			return errHostKeySeen
		},
		Timeout: 10 * time.Second,
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("scanning the host key of %s: %w", addr, err)
	}
	defer conn.Close()
	if _, _, _, err := ssh.NewClientConn(conn, addr, cfg); err != nil && line == "" {
		return nil, fmt.Errorf("scanning the host key of %s: %w", addr, err)
	}
	return []byte(line + "\n"), nil
}
