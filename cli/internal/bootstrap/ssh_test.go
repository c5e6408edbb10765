package bootstrap

import (
	"bytes"
	"context"
	"testing"

	"golang.org/x/crypto/ssh"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

func TestScanKnownHostsMatchesServerKey(t *testing.T) {
	srv := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	u, err := git.ParseURL(srv.URL("repo"))
	if err != nil {
		t.Fatal(err)
	}
	line, err := ScanKnownHosts(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(line), []byte(srv.KnownHostsLine())) {
		t.Fatalf("scanned %q, server says %q", line, srv.KnownHostsLine())
	}
}

func TestGenerateKeyParses(t *testing.T) {
	private, public, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ssh.MarshalAuthorizedKey(signer.PublicKey()), public) {
		t.Fatal("public key does not match the private key")
	}
}
