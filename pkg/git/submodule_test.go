package git_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"gotk.dev/pkg/git"
	"gotk.dev/pkg/testserver"
)

// TestCloneSubmodulesShareSizeLimit: submodules are fetched through the
// same bounded, streamed path as the repository, and the size limit
// counts the repository and its submodules together: a submodule over
// the limit, or a repository and a submodule each within it but over it
// together, stop the fetch with the submodule and the limit named.
func TestCloneSubmodulesShareSizeLimit(t *testing.T) {
	const limit = 1 << 20
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	commit := func(repo string, files map[string]string) string {
		c, err := srv.CommitFiles(repo, "main", files, repo)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	big := commit("big", map[string]string{"big.bin": randomText(t, 16*limit)})
	half := commit("half", map[string]string{"half.bin": randomText(t, limit*6/10)})
	commit("small-parent", map[string]string{"app.yaml": "app"})
	commit("half-parent", map[string]string{"app.bin": randomText(t, limit*6/10)})
	for _, s := range []struct{ parent, sub, commit string }{{"small-parent", "big", big}, {"half-parent", "half", half}} {
		if _, err := srv.CommitSubmodule(s.parent, "main", "vendor/"+s.sub, "../"+s.sub, s.commit); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name      string
		repo      string
		maxBytes  int64
		wantErr   string
		wantFiles []string
	}{
		{name: "submodule over the limit", repo: "small-parent", maxBytes: limit, wantErr: `submodule "vendor/big"`},
		{name: "together over the limit", repo: "half-parent", maxBytes: limit, wantErr: `submodule "vendor/half"`},
		{name: "together within the limit", repo: "half-parent", maxBytes: 2 * limit, wantFiles: []string{"app.bin", "vendor/half/half.bin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			srv.ResetRequestCounts()
			dir := t.TempDir()
			_, err := git.Clone(context.Background(), mustURL(t, srv.URL(c.repo)), dir, git.CloneOptions{
				Ref: git.Reference{Branch: "main"}, MaxBytes: c.maxBytes, RecurseSubmodules: true,
			})
			if c.wantErr != "" {
				var size *git.SizeLimitError
				g.Expect(errors.As(err, &size)).To(BeTrue(), "err = %v", err)
				g.Expect(size.Fetch).To(BeTrue())
				g.Expect(err.Error()).To(And(ContainSubstring(c.wantErr), ContainSubstring(fmt.Sprint(c.maxBytes))))
				sub := strings.TrimPrefix(strings.Trim(c.wantErr[len("submodule "):], `"`), "vendor/")
				sent := srv.ResponseBytes("POST", "/"+sub+"/git-upload-pack")
				t.Logf("%s: the submodule's server sent %d bytes for a limit of %d", c.name, sent, c.maxBytes)
				g.Expect(sent).To(BeNumerically("<", c.maxBytes+4<<20))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			for _, f := range c.wantFiles {
				info, err := os.Stat(filepath.Join(dir, f))
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(info.Size()).To(BeNumerically("==", limit*6/10))
			}
		})
	}
}
