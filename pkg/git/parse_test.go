package git_test

import (
	"strings"
	"testing"

	"gotk.dev/pkg/git"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://example.com/org/repo":     "https://example.com/org/repo",
		"http://127.0.0.1:8080/repo.git":   "http://127.0.0.1:8080/repo.git",
		"ssh://git@example.com:2222/org/r": "ssh://git@example.com:2222/org/r",
		"ssh://example.com/r":              "ssh://git@example.com/r",
		"git@github.com:org/repo.git":      "git@github.com:org/repo.git",
		"HTTPS://[::1]:443/r":              "https://[::1]:443/r",
	} {
		u, err := git.ParseURL(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if u.String() != want {
			t.Errorf("%s: got %s, want %s", raw, u.String(), want)
		}
	}
	for _, raw := range []string{
		"", "file:///etc", "ext::sh -c id", "https://user:pw@example.com/r", "https://example.com",
		"https:///r", "git@host:", "host:path", "ssh://u:pw@h/r", "https://h/r?x=1", "-oProxyCommand=x@h:r",
	} {
		if _, err := git.ParseURL(raw); err == nil {
			t.Errorf("%q: expected an error", raw)
		}
	}
}

func TestResolveAndRevision(t *testing.T) {
	c := strings.Repeat("a", 40)
	refs := []git.RemoteRef{{Name: "refs/heads/master", Commit: c}, {Name: "refs/tags/1.2.3", Commit: c}, {Name: "refs/tags/v1.10.0", Commit: c}}
	for ref, want := range map[git.Reference]string{
		{}:                            "master@sha1:" + c,
		{SemVer: "1.x"}:               "v1.10.0@sha1:" + c,
		{SemVer: "~1.2"}:              "1.2.3@sha1:" + c,
		{Commit: strings.ToUpper(c)}:  "sha1:" + c,
		{Commit: c, Branch: "master"}: "master@sha1:" + c,
	} {
		res, err := git.Resolve(ref, refs)
		if err != nil {
			t.Fatalf("%+v: %v", ref, err)
		}
		if res.Revision != want {
			t.Errorf("%+v: got %s, want %s", ref, res.Revision, want)
		}
		if got := git.CommitFromRevision(res.Revision); got != c {
			t.Errorf("CommitFromRevision(%s) = %s", res.Revision, got)
		}
	}
	for _, ref := range []git.Reference{{Commit: "abc"}, {Name: "heads/main"}, {SemVer: "not a range"}, {Branch: "a..b"}, {Tag: "x y"}} {
		if _, err := git.Resolve(ref, refs); err == nil || git.IsRefNotFound(err) {
			t.Errorf("%+v: expected a validation error, got %v", ref, err)
		}
	}
}

// FuzzParseURL checks that no input panics, and that accepted URLs
// round-trip through String and never select another transport.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://example.com/org/repo", "ssh://git@h:22/r", "git@h:o/r", "file:///x", "ext::x", "http://[::1]/r", "https://u:p@h/r", "%", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := git.ParseURL(raw)
		if err != nil {
			return
		}
		if u.Transport != git.HTTP && u.Transport != git.HTTPS && u.Transport != git.SSH {
			t.Fatalf("%q: transport %q", raw, u.Transport)
		}
		again, err := git.ParseURL(u.String())
		if err != nil {
			t.Fatalf("%q -> %q does not parse again: %v", raw, u.String(), err)
		}
		if again.String() != u.String() {
			t.Fatalf("%q: unstable %q vs %q", raw, u.String(), again.String())
		}
	})
}

// FuzzResolve checks that reference validation and resolution never panic
// on arbitrary spec values.
func FuzzResolve(f *testing.F) {
	f.Add("main", "v1", ">=1.0", "refs/heads/main", strings.Repeat("a", 40))
	f.Add("", "", "", "", "")
	f.Add("a..b", "~x", "^1.x || <0", "refs/", "zz")
	f.Fuzz(func(t *testing.T, branch, tag, sv, name, commit string) {
		refs := []git.RemoteRef{{Name: "refs/heads/" + branch, Commit: strings.Repeat("b", 40)}, {Name: "refs/tags/" + tag, Commit: strings.Repeat("c", 40)}}
		res, err := git.Resolve(git.Reference{Branch: branch, Tag: tag, SemVer: sv, Name: name, Commit: commit}, refs)
		if err == nil && (res.Commit == "" || res.Revision == "") {
			t.Fatalf("empty resolution %+v", res)
		}
		_ = git.CommitFromRevision(sv + "@" + commit)
	})
}
