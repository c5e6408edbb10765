package kustomize

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// TestMain lets the test binary answer as git (git.RunCommand), as the
// controller binary does, for kustomize's loader.
func TestMain(m *testing.M) {
	if git.InvokedAsCommand() {
		os.Exit(git.RunCommand(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// TestBuildRemoteBases: a base in another Git repository is refused by
// default and, when allowed, fetched through kustomize's own loader from
// a real Git smart-HTTP server, with no git program on PATH but the
// built-in one (git.InstallCommand); a missing repository, ref or
// oversized base fails with a precise message; a file:// base is always
// refused and the clone is removed after the build.
func TestBuildRemoteBases(t *testing.T) {
	const maxBytes = 256 << 10
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	if err := srv.CreateRepo("bases"); err != nil {
		t.Fatal(err)
	}
	main, err := srv.CommitFiles("bases", "main", map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n",
		"app/cm.yaml":            cmYAML("from-remote"),
	}, "base")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Tag("bases", "v1", main); err != nil {
		t.Fatal(err)
	}
	if err := srv.AnnotatedTag("bases", "v2", main, "release v2"); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 2*maxBytes)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CommitFiles("bases", "big", map[string]string{"app/big.bin": fmt.Sprintf("%x", big)}, "big"); err != nil {
		t.Fatal(err)
	}
	lib, err := srv.CommitFiles("lib", "main", map[string]string{"cm.yaml": cmYAML("from-submodule")}, "lib")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CommitFiles("withsub", "main", map[string]string{"app/kustomization.yaml": "resources:\n- lib/cm.yaml\n"}, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CommitSubmodule("withsub", "main", "app/lib", "../lib", lib); err != nil {
		t.Fatal(err)
	}
	base := func(query string) string { return srv.URL("bases") + "//app?" + query }
	f := files(t, map[string]string{
		"kustomization.yaml":           "resources:\n- local.yaml\n- " + base("ref=main") + "\n",
		"local.yaml":                   cmYAML("local"),
		"tag/kustomization.yaml":       "resources:\n- " + base("ref=v1") + "\n",
		"annotated/kustomization.yaml": "resources:\n- " + base("ref=v2") + "\n",
		"commit/kustomization.yaml":    "resources:\n- " + base("ref="+main) + "\n",
		"head/kustomization.yaml":      "resources:\n- " + srv.URL("bases") + "//app\n",
		"noref/kustomization.yaml":     "resources:\n- " + base("ref=nope") + "\n",
		"norepo/kustomization.yaml":    "resources:\n- " + srv.URL("missing") + "//app?ref=main\n",
		"big/kustomization.yaml":       "resources:\n- " + base("ref=big") + "\n",
		"file/kustomization.yaml":      "resources:\n- file:///etc/kubernetes//x\n",
		"sub/kustomization.yaml":       "resources:\n- " + srv.URL("withsub") + "//app?ref=main\n",
	})
	clonesBefore := clones(t)

	// Only the built-in git is on PATH.
	t.Setenv("PATH", "")
	bin, err := git.InstallCommand(git.CommandLimits{MaxBytes: maxBytes, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	t.Setenv("PATH", bin)
	allowed := func(path string) Options { return Options{Path: path, AllowRemoteBases: true} }

	for _, tc := range []struct {
		name      string
		opts      Options
		wantNames []string
		wantErr   string
	}{
		{name: "refused by default", opts: Options{}, wantErr: "remote bases are not fetched"},
		{name: "branch fetched when allowed", opts: allowed(""), wantNames: []string{"from-remote", "local"}},
		{name: "tag", opts: allowed("tag"), wantNames: []string{"from-remote"}},
		{name: "annotated tag", opts: allowed("annotated"), wantNames: []string{"from-remote"}},
		{name: "commit", opts: allowed("commit"), wantNames: []string{"from-remote"}},
		{name: "default branch", opts: allowed("head"), wantNames: []string{"from-remote"}},
		{name: "submodule", opts: allowed("sub"), wantNames: []string{"from-submodule"}},
		{name: "missing ref", opts: allowed("noref"), wantErr: "ref 'nope' not found on the remote"},
		{name: "missing repository", opts: allowed("norepo"), wantErr: "repository not found"},
		{name: "base over the size limit", opts: allowed("big"), wantErr: fmt.Sprintf("size limit of %d bytes", maxBytes)},
		{name: "file base refused even when allowed", opts: allowed("file"), wantErr: "file:// bases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Build(f, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if refused := !tc.opts.AllowRemoteBases || tc.opts.Path == "file"; refused != errors.Is(err, ErrRemoteBase) {
					t.Fatalf("error %v: ErrRemoteBase is %v, want %v", err, !refused, refused)
				}
				t.Logf("%s: %v", tc.name, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range objs {
				names = append(names, o.GetName())
			}
			if strings.Join(names, ",") != strings.Join(tc.wantNames, ",") {
				t.Fatalf("built %v, want %v", names, tc.wantNames)
			}
		})
	}
	if srv.RequestCount("POST", "/bases/git-upload-pack") == 0 {
		t.Error("the remote base was not fetched from the Git server")
	}
	if after := clones(t); after != clonesBefore {
		t.Errorf("%d kustomize clone directories left behind (before: %d)", after, clonesBefore)
	}
}

func clones(t *testing.T) int {
	m, err := filepath.Glob(clonePrefix() + "*")
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
