package git

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"gotk.dev/pkg/testserver"
)

// TestCommitAllAndPush commits to an empty remote, then clones, changes,
// commits and pushes again; the server's branch follows.
func TestCommitAllAndPush(t *testing.T) {
	ctx := context.Background()
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	if err := srv.CreateRepo("empty"); err != nil {
		t.Fatal(err)
	}
	u, err := ParseURL(srv.URL("empty"))
	if err != nil {
		t.Fatal(err)
	}
	author := Signature{Name: "bot", Email: "bot@example.com"}
	push := PushOptions{RefSpecs: []string{"refs/heads/main:refs/heads/main"}}

	dir := t.TempDir()
	if err := InitEmpty(dir, u, "main"); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "clusters/dev/kustomization.yaml", "resources: []\n")
	first, err := CommitAll(dir, "main", author, "first")
	if err != nil || first == "" {
		t.Fatalf("first commit: %q, %v", first, err)
	}
	if err := Push(ctx, dir, u, push); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Resolve("empty", "main"); got != first {
		t.Fatalf("server main = %s, want %s", got, first)
	}

	clone := t.TempDir()
	if _, err := Clone(ctx, u, clone, CloneOptions{Ref: Reference{Branch: "main"}}); err != nil {
		t.Fatal(err)
	}
	if sha, err := CommitAll(clone, "main", author, "nothing"); err != nil || sha != "" {
		t.Fatalf("clean tree committed %q, %v", sha, err)
	}
	write(t, clone, "clusters/dev/app.yaml", "kind: ConfigMap\n")
	if err := os.Remove(filepath.Join(clone, "clusters/dev/kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	second, err := CommitAll(clone, "main", author, "second")
	if err != nil || second == "" {
		t.Fatalf("second commit: %q, %v", second, err)
	}
	if err := Push(ctx, clone, u, push); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Resolve("empty", "main"); got != second {
		t.Fatalf("server main = %s, want %s", got, second)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCommitAllSigned(t *testing.T) {
	entity, err := openpgp.NewEntity("bot", "", "bot@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var priv, pub bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := entity.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	key, err := ParseSigningKey(priv.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSigningKey(pub.Bytes(), nil); err == nil {
		t.Fatal("a public key was accepted as a signing key")
	}

	dir := t.TempDir()
	u, _ := ParseURL("https://example.com/repo")
	if err := InitEmpty(dir, u, "main"); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.yaml", "a: 1\n")
	sha, err := CommitAll(dir, "main", Signature{Name: "bot", Email: "bot@example.com"}, "signed", WithSigningKey(key))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commit.Verify(pub.String()); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
}

// TestCommitAllSSHSigned: commits signed with ed25519, ECDSA and RSA keys
// pass `git verify-commit` with gpg.format=ssh and an allowed-signers
// file; a short RSA key and garbage are refused.
func TestCommitAllSSHSigned(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed to verify SSH signatures: ", err)
	}
	keys := []struct{ name, typ, bits string }{{"ed25519", "ed25519", ""}, {"ecdsa", "ecdsa", "256"}, {"rsa", "rsa", "3072"}}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			tmp := t.TempDir()
			keyPath := filepath.Join(tmp, "id")
			args := []string{"-q", "-t", k.typ, "-N", "s3cret", "-C", "bot@example.com", "-f", keyPath}
			if k.bits != "" {
				args = append(args, "-b", k.bits)
			}
			if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v: %s", err, out)
			}
			priv, _ := os.ReadFile(keyPath)
			pub, _ := os.ReadFile(keyPath + ".pub")
			if _, err := ParseSSHSigningKey(priv, nil); err == nil {
				t.Fatal("an encrypted key was accepted without its passphrase")
			}
			signer, err := ParseSSHSigningKey(priv, []byte("s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(tmp, "repo")
			u, _ := ParseURL("https://example.com/repo")
			if err := InitEmpty(dir, u, "main"); err != nil {
				t.Fatal(err)
			}
			write(t, dir, "a.yaml", "a: 1\n")
			sha, err := CommitAll(dir, "main", Signature{Name: "bot", Email: "bot@example.com"}, "signed", WithSigner(signer))
			if err != nil {
				t.Fatal(err)
			}
			allowed := filepath.Join(tmp, "allowed_signers")
			if err := os.WriteFile(allowed, append([]byte("bot@example.com "), pub...), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", sha)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git verify-commit: %v: %s", err, out)
			}
		})
	}

	tmp := t.TempDir()
	short := filepath.Join(tmp, "short")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", short).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	priv, _ := os.ReadFile(short)
	if _, err := ParseSSHSigningKey(priv, nil); err == nil || !strings.Contains(err.Error(), "at least 2048 bits") {
		t.Fatalf("a 1024-bit RSA key: err = %v", err)
	}
	if _, err := ParseSSHSigningKey([]byte("not a key"), nil); err == nil {
		t.Fatal("garbage was accepted as a key")
	}
}
