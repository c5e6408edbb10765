package fleet

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// buildSopsHelper builds gotk-sops into a temporary directory and points
// $GOTK_SOPS at it.
func buildSopsHelper(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), SopsHelper)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "gotk.dev/pkg/sops/cmd/gotk-sops").CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", SopsHelper, err, out)
	}
	t.Setenv(EnvSopsHelper, bin)
}

// TestDecryptKey checks a fleet with SOPS-encrypted Secrets (one for an
// age recipient, one for an OpenPGP key; testdata/sops was encrypted with
// the SOPS library for the keys beside it): without a key they are
// skipped, never passed; with it they are decrypted and validated (the
// TLS Secrets lack tls.crt, which only the API server sees).
func TestDecryptKey(t *testing.T) {
	buildSopsHelper(t)
	fixture := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "sops", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  decryption: {provider: sops}\n",
		"app/namespace.yaml":   "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
		"app/tls.enc.yaml":     fixture("secret.age.yaml"),
		"app/tls-pgp.enc.yaml": fixture("secret.pgp.yaml"),
	})
	key := func(name string) string { return filepath.Join("testdata", "sops", name) }
	const missingCrt = `data[tls.crt]: Required value`
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		findings []string // classes, one per finding, with their message
		messages []string
		skipped  []string // object references skipped
	}{
		{name: "no key: both skipped", code: 0, skipped: []string{"Secret/web/tls", "Secret/web/pgp"}},
		{name: "age and pgp keys: decrypted and validated", args: []string{"--decrypt-key", key("right.agekey"), "--decrypt-key", key("test.asc")},
			code: ExitFindings, findings: []string{ClassSchema, ClassSchema}, messages: []string{missingCrt, missingCrt}},
		{name: "wrong key", args: []string{"--decrypt-key", key("wrong.agekey")}, code: ExitFindings,
			findings: []string{ClassBuild}, messages: []string{"no key can decrypt the data key"}},
		{name: "not a key file", args: []string{"--decrypt-key", key("not-a-key.agekey")}, code: ExitFailed},
		{name: "no such file", args: []string{"--decrypt-key", key("missing")}, code: ExitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			report, out, code := gotkTest(t, append([]string{dir, "--output", "json"}, tc.args...)...)
			g.Expect(code).To(Equal(tc.code), out)
			g.Expect(out).NotTo(ContainSubstring("canary"))
			if code == ExitFailed {
				return
			}
			c := report.Clusters[0]
			var skipped []string
			for _, s := range c.Skipped {
				g.Expect(s.Reason).To(ContainSubstring("SOPS-encrypted"))
				skipped = append(skipped, s.Object)
			}
			g.Expect(skipped).To(ConsistOf(tc.skipped), out)
			var matchers []any
			for i, class := range tc.findings {
				matchers = append(matchers, And(HaveField("Class", class), HaveField("Message", ContainSubstring(tc.messages[i]))))
			}
			g.Expect(c.Findings).To(ConsistOf(matchers...), out)
		})
	}
}
