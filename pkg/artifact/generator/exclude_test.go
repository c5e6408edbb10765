package generator

import (
	"strings"
	"testing"
)

func TestCompileExclude(t *testing.T) {
	cases := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*.md", "README.md", true},
		{"*.md", "docs/guide/README.md", true}, // no '/': matches the last element
		{"*.{md,txt}", "docs/notes.txt", true},
		{"*.{md,txt}", "docs/notes.yaml", false},
		{"{tests,docs}/**", "tests/unit/a.yaml", true},
		{"{tests,docs}/**", "docs", true}, // "dir/**" holds dir itself
		{"{tests,docs}/**", "deploy/a.yaml", false},
		{"**/secret-*.yaml", "a/b/secret-db.yaml", true},
		{"**/secret-*.yaml", "secret-db.yaml", true},
		{"a/**/b.yaml", "a/b.yaml", true},
		{"a/**/b.yaml", "a/x/y/b.yaml", true},
		{"a/*.yaml", "a/x/b.yaml", false}, // '*' stays within one element
		{"{a,{b,c}}.yaml", "c.yaml", true},
		{"[!x]*.yaml", "y1.yaml", true},
		{"[!x]*.yaml", "x1.yaml", false},
		{"[a-c]?.yaml", "b1.yaml", true},
		{`\{a,b\}.yaml`, "{a,b}.yaml", true},
		{`\{a,b\}.yaml`, "a.yaml", false},
		{"/deploy/*.yaml", "deploy/a.yaml", true}, // a leading '/' is the root
		{"a.b", "axb", false},                     // '.' is literal
	}
	for _, tc := range cases {
		m, err := compileExclude(tc.pattern)
		if err != nil {
			t.Fatalf("compileExclude(%q): %v", tc.pattern, err)
		}
		if got := m.match(tc.path); got != tc.want {
			t.Errorf("exclude %q on %q = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	for _, bad := range []string{"{a,b", "[ab", `x\`} {
		if _, err := compileExclude(bad); err == nil {
			t.Errorf("compileExclude(%q) accepted a malformed pattern", bad)
		}
	}
}

func TestCheckAlternations(t *testing.T) {
	alts := func(n int) string { return "{" + strings.Repeat("a,", n) + "a}" }
	cases := []struct {
		pattern string
		wantErr string
	}{
		{alts(20), ""},
		{alts(21), "pattern has 21 alternatives in '{}' groups, at most 20 are allowed"},
		{"{a,b}/" + alts(20), "pattern has 21 alternatives"},
		{strings.Repeat("a,", 30), ""},               // commas outside a group
		{`\{` + strings.Repeat("a,", 30) + `\}`, ""}, // escaped braces
		{"{{a,b},{c,d}}" + alts(18), "pattern has 21 alternatives"},
	}
	for _, tc := range cases {
		err := checkAlternations(tc.pattern)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("checkAlternations(%q) = %v, want %q", tc.pattern, err, tc.wantErr)
		}
	}
}
