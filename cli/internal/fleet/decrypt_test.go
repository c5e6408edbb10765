package fleet

import (
	"path/filepath"
	"testing"

	"filippo.io/age"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/sops/sopstest"
)

func TestDecryptKey(t *testing.T) {
	g := NewWithT(t)
	id, err := age.GenerateX25519Identity()
	g.Expect(err).NotTo(HaveOccurred())
	other, err := age.GenerateX25519Identity()
	g.Expect(err).NotTo(HaveOccurred())
	// A TLS Secret without its certificate: the API server refuses it,
	// which only shows once it is decrypted.
	plain := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\n  namespace: web\ntype: kubernetes.io/tls\nstringData:\n  tls.key: canary-key\n")
	enc, err := sopstest.Encrypt("secret.enc.yaml", plain, sopstest.Recipients{Age: []string{id.Recipient().String()}},
		sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	g.Expect(err).NotTo(HaveOccurred())

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  decryption: {provider: sops}\n",
		"app/namespace.yaml":    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
		"app/secret.enc.yaml":   string(enc),
		"keys/right.agekey":     id.String() + "\n",
		"keys/wrong.agekey":     other.String() + "\n",
		"keys/not-a-key.agekey": "hello\n",
	})
	key := func(name string) string { return filepath.Join(dir, "keys", name) }
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		finding string // class
		message string
		skipped string
	}{
		{name: "no key: skipped", code: 0, skipped: "no decryption key"},
		{name: "decrypted and validated", args: []string{"--decrypt-key", key("right.agekey")}, code: ExitFindings,
			finding: ClassSchema, message: `data[tls.crt]: Required value`},
		{name: "wrong key", args: []string{"--decrypt-key", key("wrong.agekey")}, code: ExitFindings,
			finding: ClassBuild, message: "decrypt"},
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
			if tc.skipped != "" {
				g.Expect(c.Skipped).To(ConsistOf(HaveField("Reason", ContainSubstring(tc.skipped))), out)
			} else {
				g.Expect(c.Skipped).To(BeEmpty(), out)
			}
			if tc.finding != "" {
				g.Expect(c.Findings).To(ConsistOf(And(HaveField("Class", tc.finding), HaveField("Message", ContainSubstring(tc.message)))), out)
			} else {
				g.Expect(c.Findings).To(BeEmpty(), out)
			}
		})
	}
}
