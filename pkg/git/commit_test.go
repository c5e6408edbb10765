package git

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
