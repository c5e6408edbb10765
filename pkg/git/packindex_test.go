package git

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// TestIndexPackRefDeltas indexes a pack whose deltas name their bases by
// hash (git pack-objects without --delta-base-offset, as a server that
// does not speak ofs-delta sends), and checks every object of
// git's own index is found at the same offset.
func TestIndexPackRefDeltas(t *testing.T) {
	repo := t.TempDir()
	git := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("", "init", "-q")
	text := strings.Repeat("a line of configuration that changes little\n", 500)
	for i := range 15 {
		if err := os.WriteFile(filepath.Join(repo, "conf.txt"), []byte(fmt.Sprintf("%sversion %d\n", text, i)), 0o644); err != nil {
			t.Fatal(err)
		}
		git("", "add", "conf.txt")
		git("", "commit", "-q", "-m", fmt.Sprint(i))
	}
	objects := git("", "rev-list", "--objects", "--all")
	prefix := filepath.Join(t.TempDir(), "p")
	sum := strings.TrimSpace(git(objects, "pack-objects", "-q", "--window=20", "--depth=20", prefix))
	if out := git("", "verify-pack", "-v", prefix+"-"+sum+".idx"); !strings.Contains(out, "chain length = ") {
		t.Fatalf("want deltas in the pack:\n%s", out)
	}

	fs := osfs.New(filepath.Dir(prefix))
	f, err := fs.Open(filepath.Base(prefix) + "-" + sum + ".pack")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ours, err := indexPack(f)
	if err != nil {
		t.Fatal(err)
	}
	idxFile, err := os.Open(prefix + "-" + sum + ".idx")
	if err != nil {
		t.Fatal(err)
	}
	defer idxFile.Close()
	theirs := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(idxFile).Decode(theirs); err != nil {
		t.Fatal(err)
	}
	entries, err := theirs.Entries()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		e, err := entries.Next()
		if err != nil {
			break
		}
		n++
		off, err := ours.FindOffset(e.Hash)
		if err != nil || uint64(off) != e.Offset {
			t.Errorf("object %s: offset %d (%v), git says %d", e.Hash, off, err, e.Offset)
		}
	}
	if count, _ := ours.Count(); int(count) != n || n == 0 {
		t.Errorf("indexed %d objects, git %d", count, n)
	}
}
