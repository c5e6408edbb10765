package testserver

import (
	"os/exec"
	"reflect"
	"testing"
)

// TestRecordPushOptions: a repository set to record push options
// advertises them, and each push's options (the git CLI's `-o`) are read
// back in order, a push without any as an empty list.
func TestRecordPushOptions(t *testing.T) {
	s := NewGitHTTPForTest(t, GitHTTPOptions{})
	if _, err := s.CommitFiles("app", "main", map[string]string{"a": "1"}, "init"); err != nil {
		t.Fatal(err)
	}
	if got, err := PushOptions(s.GitRepos, "app"); err != nil || got != nil {
		t.Fatalf("before any push: %v, %v", got, err)
	}
	if err := RecordPushOptions(s.GitRepos, "app"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("clone", "-q", s.URL("app"), ".")
	git("commit", "-q", "--allow-empty", "-m", "one")
	git("push", "-q", "-o", "ci.skip", "-o", "merge_request.target=main", "origin", "main")
	git("commit", "-q", "--allow-empty", "-m", "two")
	git("push", "-q", "origin", "main")
	got, err := PushOptions(s.GitRepos, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"ci.skip", "merge_request.target=main"}, {}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("push options = %q, want %q", got, want)
	}
}
