package policy

import (
	"errors"
	"strings"
	"testing"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

func spec(choice imagev1.ImagePolicyChoice, pattern, extract string) imagev1.ImagePolicySpec {
	s := imagev1.ImagePolicySpec{Policy: choice}
	if pattern != "" || extract != "" {
		s.FilterTags = &imagev1.TagFilter{Pattern: pattern, Extract: extract}
	}
	return s
}

func semverP(r string) imagev1.ImagePolicyChoice {
	return imagev1.ImagePolicyChoice{SemVer: &imagev1.SemVerPolicy{Range: r}}
}

func alpha(o string) imagev1.ImagePolicyChoice {
	return imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{Order: o}}
}

func numeric(o string) imagev1.ImagePolicyChoice {
	return imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{Order: o}}
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name             string
		spec             imagev1.ImagePolicySpec
		tags             []string
		want, err        string
		noMatch, invalid bool
	}{
		{name: "semver highest", spec: spec(semverP(">=1.0.0"), "", ""), tags: []string{"1.0.0", "1.2.3", "1.2.4", "0.9.0", "latest"}, want: "1.2.4"},
		{name: "semver v prefix", spec: spec(semverP(">=1.0.0"), "", ""), tags: []string{"v1.2.3", "v1.2.4", "v1.10.0-rc.1"}, want: "v1.2.4"},
		{name: "semver equal versions prefer greater tag", spec: spec(semverP("1.x"), "", ""), tags: []string{"v1.2.0", "1.2.0"}, want: "v1.2.0"},
		{name: "semver excludes pre-releases", spec: spec(semverP(">=1.0.0"), "", ""), tags: []string{"1.0.0", "1.1.0-rc.1"}, want: "1.0.0"},
		{name: "semver range with pre-release includes them", spec: spec(semverP(">=1.0.0-0"), "", ""), tags: []string{"1.0.0", "1.1.0-rc.1", "1.1.0-rc.2"}, want: "1.1.0-rc.2"},
		{name: "semver release beats its pre-release", spec: spec(semverP(">=1.0.0-0"), "", ""), tags: []string{"1.1.0-rc.2", "1.1.0"}, want: "1.1.0"},
		{name: "semver upper bound", spec: spec(semverP(">=1.0.0 <2.0.0"), "", ""), tags: []string{"1.9.9", "2.0.0"}, want: "1.9.9"},
		{name: "semver none in range", spec: spec(semverP(">=3.0.0"), "", ""), tags: []string{"1.0.0"}, noMatch: true},
		{name: "semver invalid range", spec: spec(semverP(">=x.y"), "", ""), invalid: true, err: `invalid semver range ">=x.y"`},
		{name: "semver extracted from tag", spec: spec(semverP(">=1.0.0"), `^app-(?P<v>.*)$`, "$v"), tags: []string{"app-1.0.0", "app-1.3.0", "other-9.0.0"}, want: "app-1.3.0"},
		{name: "alphabetical asc", spec: spec(alpha(""), "", ""), tags: []string{"b", "c", "a"}, want: "c"},
		{name: "alphabetical desc", spec: spec(alpha("desc"), "", ""), tags: []string{"b", "c", "a"}, want: "a"},
		{name: "alphabetical RFC3339 stamps", spec: spec(alpha("asc"), `^main-[a-f0-9]+-(?P<ts>.*)`, "$ts"), tags: []string{"main-abc-2026-01-02T10:00:00Z", "main-def-2026-01-03T09:00:00Z"}, want: "main-def-2026-01-03T09:00:00Z"},
		{name: "alphabetical invalid order", spec: spec(alpha("up"), "", ""), invalid: true, err: `alphabetical: invalid order "up"`},
		{name: "numerical extract ts", spec: spec(numeric("asc"), `^main-[a-f0-9]+-(?P<ts>[0-9]+)`, "$ts"), tags: []string{"main-1a2b-1700000100", "main-ff00-1700000200", "main-0c0c-99", "v1.0.0", "latest"}, want: "main-ff00-1700000200"},
		{name: "numerical desc", spec: spec(numeric("desc"), "", ""), tags: []string{"10", "9", "100"}, want: "9"},
		{name: "numerical compares numbers not strings", spec: spec(numeric(""), "", ""), tags: []string{"9", "10", "1.5"}, want: "10"},
		{name: "numerical not a number", spec: spec(numeric(""), "", ""), tags: []string{"1", "latest"}, err: `tag "latest" gives "latest", which is not a number`},
		{name: "numerical NaN refused", spec: spec(numeric(""), "", ""), tags: []string{"NaN"}, err: "not a number"},
		{name: "filter matches nothing", spec: spec(alpha(""), `^release-`, ""), tags: []string{"a", "b"}, noMatch: true},
		{name: "invalid pattern", spec: spec(alpha(""), `^main-(`, ""), invalid: true, err: `invalid filterTags.pattern "^main-("`},
		{name: "extract names missing group", spec: spec(alpha(""), `^main-(?P<ts>[0-9]+)`, "$time"), invalid: true, err: `the pattern has no group "time"`},
		{name: "extract without pattern", spec: spec(alpha(""), "", "$ts"), invalid: true, err: "needs a filterTags.pattern"},
		{name: "no policy", spec: spec(imagev1.ImagePolicyChoice{}, "", ""), invalid: true, err: "exactly one of"},
		{name: "two policies", spec: spec(imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{}, Numerical: &imagev1.NumericalPolicy{}}, "", ""), invalid: true, err: "exactly one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := New(tc.spec)
			if tc.invalid {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := sel.Select(tc.tags)
			switch {
			case tc.noMatch:
				if !errors.Is(err, ErrNoMatch) {
					t.Fatalf("err = %v, want ErrNoMatch", err)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			case err != nil || got != tc.want:
				t.Fatalf("Select = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSelectEmptyList(t *testing.T) {
	sel, _ := New(spec(semverP("*"), "", ""))
	if _, err := sel.Select(nil); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckTemplate(t *testing.T) {
	for tmpl, ok := range map[string]bool{
		"$ts": true, "${ts}": true, "$1": true, "$ts-$1": true, "$$": true, "plain": true, "": true,
		"$": false, "${ts": false, "$2": false, "${}": false, "$-": false, "${t s}": false,
	} {
		f, err := NewFilter(`^(?P<ts>[0-9]+)$`, tmpl)
		if (err == nil) != ok {
			t.Errorf("%q: err = %v, want ok=%v", tmpl, err, ok)
		}
		if err == nil && tmpl == "${ts}" {
			if c, _ := f.Match("42"); c.Value != "42" {
				t.Errorf("${ts} expands to %q", c.Value)
			}
		}
	}
}

// FuzzFilter checks that compiling and applying any pattern and extract
// never panics and that accepted filters only keep matching tags.
func FuzzFilter(f *testing.F) {
	f.Add(`^main-[a-f0-9]+-(?P<ts>[0-9]+)`, "$ts", "main-abc123-1700000000")
	f.Add(`^v(?P<v>.*)$`, "${v}", "v1.2.3")
	f.Add(`(`, "$1", "x")
	f.Add(`^(a)(b)?`, "$2$$$1", "ab")
	f.Add("", "", "latest")
	f.Fuzz(func(t *testing.T, pattern, extract, tag string) {
		flt, err := NewFilter(pattern, extract)
		if err != nil {
			return
		}
		c, ok := flt.Match(tag)
		if ok && c.Tag != tag {
			t.Fatalf("candidate %q for tag %q", c.Tag, tag)
		}
		if ok && extract == "" && c.Value != tag {
			t.Fatalf("value %q without extract", c.Value)
		}
		for _, choice := range []imagev1.ImagePolicyChoice{semverP(">=0.0.0-0"), alpha("desc"), numeric("")} {
			sel, err := New(imagev1.ImagePolicySpec{Policy: choice, FilterTags: &imagev1.TagFilter{Pattern: pattern, Extract: extract}})
			if err != nil {
				t.Fatalf("New failed after NewFilter passed: %v", err)
			}
			if got, err := sel.Select([]string{tag}); err == nil && got != tag {
				t.Fatalf("Select = %q, want %q", got, tag)
			}
		}
	})
}

// FuzzSemVerRange checks that any range either parses or is refused with
// an error, and that a parsed range never panics on any tag.
func FuzzSemVerRange(f *testing.F) {
	f.Add(">=1.0.0", "v1.2.3")
	f.Add(">=1.0.0-0 <2", "1.5.0-rc.1")
	f.Add("~1.2 || ^3", "3.1")
	f.Add(">=x", "1")
	f.Fuzz(func(t *testing.T, rng, tag string) {
		p, err := NewSemVer(rng)
		if err != nil {
			return
		}
		_, _ = p.Latest([]Candidate{{Tag: tag, Value: tag}})
	})
}
