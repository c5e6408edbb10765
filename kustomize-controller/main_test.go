package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// TestBinaryAnswersAsGit: the built controller binary, linked as git and
// the only program on PATH (no system git, as in the controller image),
// is the git kustomize's loader runs for remote bases: a base fetches
// from a real Git server, a missing ref fails with the ref named, and a
// command outside the subset kustomize uses is refused.
func TestBinaryAnswersAsGit(t *testing.T) {
	bin := t.TempDir()
	if err := testenv.BuildPrograms(bin, controllerName); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir()
	gitLink := filepath.Join(path, "git")
	if err := os.Symlink(filepath.Join(bin, controllerName), gitLink); err != nil {
		t.Fatal(err)
	}
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	if _, err := srv.CommitFiles("bases", "main", map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-remote\n",
	}, "base"); err != nil {
		t.Fatal(err)
	}
	files, err := kustomize.NewFiles(map[string][]byte{
		"ok/kustomization.yaml":  []byte("resources:\n- " + srv.URL("bases") + "//app?ref=main\n"),
		"bad/kustomization.yaml": []byte("resources:\n- " + srv.URL("bases") + "//app?ref=nope\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", path)

	for _, tc := range []struct {
		path, wantName, wantErr string
	}{
		{path: "ok", wantName: "from-remote"},
		{path: "bad", wantErr: "fatal: ref 'nope' not found on the remote"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			objs, err := kustomize.Build(files, kustomize.Options{Path: tc.path, AllowRemoteBases: true})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].GetName() != tc.wantName {
				t.Fatalf("built %d objects, want the ConfigMap %s", len(objs), tc.wantName)
			}
		})
	}

	out, err := exec.Command(gitLink, "push", "origin").CombinedOutput()
	if code := exitCode(err); code != 128 || !strings.Contains(string(out), "'git push origin' is not supported") {
		t.Fatalf("git push: exit %d, output %q; want 128 and the command refused", code, out)
	}
}

func exitCode(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
