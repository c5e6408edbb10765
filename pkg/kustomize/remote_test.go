package kustomize

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gotk.dev/pkg/testserver"
)

// TestBuildRemoteBases: a base in another Git repository is refused by
// default and, when allowed, fetched through kustomize's own loader from
// a real Git smart-HTTP server; a file:// base is always refused and the
// clone is removed after the build.
func TestBuildRemoteBases(t *testing.T) {
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	if err := srv.CreateRepo("bases"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CommitFiles("bases", "main", map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n",
		"app/cm.yaml":            cmYAML("from-remote"),
	}, "base"); err != nil {
		t.Fatal(err)
	}
	remote := srv.URL("bases") + "//app?ref=main"
	f := files(t, map[string]string{
		"kustomization.yaml":      "resources:\n- local.yaml\n- " + remote + "\n",
		"local.yaml":              cmYAML("local"),
		"file/kustomization.yaml": "resources:\n- file:///etc/kubernetes//x\n",
	})
	clonesBefore := clones(t)

	for _, tc := range []struct {
		name      string
		opts      Options
		wantNames []string
		wantErr   string
	}{
		{name: "refused by default", opts: Options{}, wantErr: "remote bases are not fetched"},
		{name: "fetched when allowed", opts: Options{AllowRemoteBases: true}, wantNames: []string{"from-remote", "local"}},
		{name: "file base refused even when allowed", opts: Options{Path: "file", AllowRemoteBases: true}, wantErr: "file:// bases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Build(f, tc.opts)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrRemoteBase) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrRemoteBase containing %q", err, tc.wantErr)
				}
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
