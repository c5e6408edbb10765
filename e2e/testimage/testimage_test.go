// Package testimage runs `gotk test` from the gotk-test image in podman,
// as a CI job would: the image's own kube-apiserver and etcd, a fleet
// repository mounted as the working directory.
package testimage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gotk.dev/pkg/imagebuild"
	"gotk.dev/pkg/testenv"
)

// podmanBase are e2e/containers' flags for this kind of machine: runc,
// rlimits the runner may set, the host's network.
var podmanBase = []string{"--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "host"}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGotkTestImage builds the gotk-test image for this machine, loads it
// into podman and checks fleets with it: a clean one, one with a missing
// namespace, and one whose SOPS-encrypted Secret only the image's
// gotk-sops can decrypt (the key and file are gotk test's own fixtures).
func TestGotkTestImage(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: run `make test` (or `make container-runtime`), which installs podman and runc")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test runs a container as root (podman with runc), as e2e/containers does: run it as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	res, err := imagebuild.Build(ctx, imagebuild.Options{Root: root, Components: []imagebuild.Component{imagebuild.GotkTest},
		Platforms: []string{"linux/" + runtime.GOARCH}, Version: "v0.0.0-e2e", OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	image := res.Images[0].Ref.String()
	if out, err := exec.CommandContext(ctx, "podman", "load", "--input", res.Tarballs["linux/"+runtime.GOARCH]).CombinedOutput(); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("podman", "rmi", "--force", image).Run() })
	t.Logf("gotk-test image: %.1f MiB compressed", float64(res.Images[0].Sizes["linux/"+runtime.GOARCH])/(1<<20))

	fixture := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, "cli", "internal", "fleet", "testdata", "sops", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ks := func(decryption string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n" + decryption
	}
	const namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n"
	const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\ndata: {a: b}\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		code  int
		want  string
	}{
		{name: "clean", files: map[string]string{"clusters/dev/app.yaml": ks(""), "app/ns.yaml": namespace, "app/cm.yaml": configMap},
			want: "✔ Kustomization flux-system/app"},
		{name: "missing namespace", files: map[string]string{"clusters/dev/app.yaml": ks(""), "app/cm.yaml": configMap},
			code: 1, want: "[missing-namespace] ConfigMap/web/web (app/cm.yaml)"},
		{name: "decrypted by gotk-sops", files: map[string]string{"clusters/dev/app.yaml": ks("  decryption: {provider: sops}\n"),
			"app/ns.yaml": namespace, "app/tls.enc.yaml": fixture("secret.age.yaml"), "keys/age.agekey": fixture("right.agekey")},
			args: []string{"--decrypt-key", "keys/age.agekey"}, code: 1, want: "data[tls.crt]: Required value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			args := append(append([]string{"run", "--rm", "--pull", "never"}, podmanBase...), "-v", dir+":/repo", "-w", "/repo", image, "test", ".")
			var out bytes.Buffer
			cmd := exec.CommandContext(ctx, "podman", append(args, tc.args...)...)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, want %d and output with %q:\n%s", code, tc.code, tc.want, out.String())
			}
		})
	}
}
