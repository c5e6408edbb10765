package generator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// TestParsePattern: a well-formed pathPattern gives its alias and
// captures; each malformed one a ValidationFailed error saying why.
func TestParsePattern(t *testing.T) {
	cases := []struct {
		spec    string
		alias   string
		names   []string
		message string
	}{
		{spec: "@repo/apps/{app}/envs/{env}", alias: "repo", names: []string{"app", "env"}},
		{spec: "@repo/apps/app-{name}.d", alias: "repo", names: []string{"name"}},
		{spec: "@repo/static/dir", alias: "repo"},
		{spec: "repo/apps/{app}", message: "must be '@<alias>/<pattern>'"},
		{spec: "@repo", message: "must be '@<alias>/<pattern>'"},
		{spec: "@repo/", message: "must be '@<alias>/<pattern>'"},
		{spec: "@repo/apps/{app", message: "'{' without a closing '}'"},
		{spec: "@repo/apps/app}", message: "'}' without an opening '{'"},
		{spec: "@repo/apps/{}", message: "empty capture '{}'"},
		{spec: "@repo/apps/{app-name}", message: "capture '{app-name}' must be a name matching"},
		{spec: "@repo/apps/{_app}", message: "capture '{_app}' is not a valid label key"},
		{spec: "@repo/apps/{app}/envs/{app}", message: "capture '{app}' appears twice"},
		{spec: "@repo/apps/{app}/", message: "segment '' can never match a directory"},
		{spec: "@repo/../{app}", message: "segment '..' can never match a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			p, err := ParsePattern(tc.spec)
			if tc.message == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if p.Alias != tc.alias || !reflect.DeepEqual(p.Names, tc.names) {
					t.Fatalf("got alias %q names %v, want %q %v", p.Alias, p.Names, tc.alias, tc.names)
				}
				return
			}
			var gerr *Error
			if !errors.As(err, &gerr) || gerr.Reason != sourceextv1beta1.ValidationFailedReason {
				t.Fatalf("want a ValidationFailed error, got %v", err)
			}
			if want := "pathPattern '" + tc.spec + "': " + tc.message; !strings.HasPrefix(gerr.Msg, want) {
				t.Fatalf("message %q does not start with %q", gerr.Msg, want)
			}
		})
	}
}

// TestRender: placeholders are filled from the captures; one the
// pattern does not capture is an error.
func TestRender(t *testing.T) {
	vars := map[string]string{"app": "Auth", "env": "dev"}
	cases := []struct{ tmpl, want, err string }{
		{tmpl: "{app}-{env}", want: "Auth-dev"},
		{tmpl: "@repo/apps/{app}/envs/{env}/**", want: "@repo/apps/Auth/envs/dev/**"},
		{tmpl: "plain", want: "plain"},
		{tmpl: "{team}", err: "placeholder '{team}' is not a capture of the pathPattern"},
		{tmpl: "{app", err: "'{' without a closing '}'"},
	}
	for _, tc := range cases {
		got, err := Render(tc.tmpl, vars)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: got error %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

// patternOutputs is one artifact named by tmpl copying the matched
// directory's files.
func patternOutputs(tmpl string) []sourceextv1beta1.OutputArtifact {
	return []sourceextv1beta1.OutputArtifact{{Name: tmpl, OriginRevision: "@repo",
		Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/apps/{app}/envs/{env}/**", To: "@artifact/{app}/", Exclude: []string{"*.md"}}}}}
}

// TestExpand: one output per matching directory, names and labels from
// the lowercased captures, copy paths from the captures as found; files,
// symlinks and directories off the pattern give nothing; bad directory
// names and name clashes are ValidationFailed.
func TestExpand(t *testing.T) {
	src := srcTree(t, map[string]string{
		"apps/auth/envs/dev/a.yaml":         "a",
		"apps/auth/envs/prod/a.yaml":        "a",
		"apps/Billing/envs/Prod/b.yaml":     "b",
		"apps/auth/envs/dev/nested/x.yaml":  "x",
		"apps/ignore/envs":                  "a file where the pattern wants a directory",
		"apps/payments/README.md":           "no envs",
		"other/auth/envs/dev/c.yaml":        "c",
		"apps/auth/envs/dev-only-file.yaml": "f",
	})
	if err := os.Symlink(filepath.Join(src, "apps", "auth"), filepath.Join(src, "apps", "linked")); err != nil {
		t.Fatal(err)
	}
	p, err := ParsePattern("@repo/apps/{app}/envs/{env}")
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Expand(src, patternOutputs("{app}-{env}"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, fmt.Sprintf("%s %v %s %s %v %s", o.Name, o.Labels, o.Copy[0].From, o.Copy[0].To, o.Copy[0].Exclude, o.OriginRevision))
	}
	want := []string{
		"billing-prod map[app:billing env:prod] @repo/apps/Billing/envs/Prod/** @artifact/Billing/ [*.md] @repo",
		"auth-dev map[app:auth env:dev] @repo/apps/auth/envs/dev/** @artifact/auth/ [*.md] @repo",
		"auth-prod map[app:auth env:prod] @repo/apps/auth/envs/prod/** @artifact/auth/ [*.md] @repo",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if spec := patternOutputs("{app}-{env}"); spec[0].Copy[0].From != "@repo/apps/{app}/envs/{env}/**" {
		t.Fatalf("the spec was changed: %v", spec)
	}

	bad := []struct {
		name    string
		files   []string
		tmpl    string
		message string
	}{
		{name: "space", files: []string{"apps/my app/envs/dev/a"}, tmpl: "{app}-{env}",
			message: "directory 'apps/my app/envs/dev' captures app='my app', not a valid label value"},
		{name: "too long", files: []string{"apps/" + strings.Repeat("a", 64) + "/envs/dev/a"}, tmpl: "{app}-{env}",
			message: "captures app='" + strings.Repeat("a", 64) + "', not a valid label value"},
		{name: "bad name", files: []string{"apps/auth/envs/dev/a"}, tmpl: "{app}..{env}",
			message: "directory 'apps/auth/envs/dev' gives artifact name 'auth..dev', not a valid object name"},
		{name: "clash", files: []string{"apps/Auth/envs/dev/a", "apps/auth/envs/dev/a"}, tmpl: "{app}-{env}",
			message: "directories 'apps/Auth/envs/dev' and 'apps/auth/envs/dev' both give artifact name 'auth-dev'"},
		{name: "constant name", files: []string{"apps/auth/envs/dev/a", "apps/auth/envs/prod/a"}, tmpl: "{app}",
			message: "directories 'apps/auth/envs/dev' and 'apps/auth/envs/prod' both give artifact name 'auth'"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tc.files {
				files[f] = "x"
			}
			_, err := p.Expand(srcTree(t, files), patternOutputs(tc.tmpl))
			var gerr *Error
			if !errors.As(err, &gerr) || gerr.Reason != sourceextv1beta1.ValidationFailedReason {
				t.Fatalf("want a ValidationFailed error, got %v", err)
			}
			if !strings.Contains(gerr.Msg, tc.message) {
				t.Fatalf("message %q does not contain %q", gerr.Msg, tc.message)
			}
		})
	}

	// A tree that cannot be read is a plain (retried) error.
	if _, err := p.Expand(filepath.Join(src, "absent"), patternOutputs("{app}-{env}")); err == nil || errors.As(err, new(*Error)) {
		t.Fatalf("want a plain error for a missing tree, got %v", err)
	}
}

// TestCheckTemplates: an artifact using a placeholder the pattern does
// not capture is refused before anything is fetched.
func TestCheckTemplates(t *testing.T) {
	p, err := ParsePattern("@repo/apps/{app}")
	if err != nil {
		t.Fatal(err)
	}
	op := func(from, to string) []sourceextv1beta1.CopyOperation {
		return []sourceextv1beta1.CopyOperation{{From: from, To: to}}
	}
	cases := []struct {
		out     sourceextv1beta1.OutputArtifact
		message string
	}{
		{out: sourceextv1beta1.OutputArtifact{Name: "{app}", Copy: op("@repo/apps/{app}/**", "@artifact/")}},
		{out: sourceextv1beta1.OutputArtifact{Name: "{app}-{env}", Copy: op("@repo/apps/{app}/**", "@artifact/")},
			message: "artifact '{app}-{env}' name: placeholder '{env}' is not a capture of the pathPattern"},
		{out: sourceextv1beta1.OutputArtifact{Name: "{app}", Copy: op("@repo/apps/{env}/**", "@artifact/")},
			message: "artifact '{app}' copy[0] from '@repo/apps/{env}/**': placeholder '{env}' is not a capture of the pathPattern"},
		{out: sourceextv1beta1.OutputArtifact{Name: "{app}", Copy: op("@repo/apps/{app}/**", "@artifact/{app")},
			message: "artifact '{app}' copy[0] to '@artifact/{app': '{' without a closing '}'"},
	}
	for _, tc := range cases {
		err := p.CheckTemplates([]sourceextv1beta1.OutputArtifact{tc.out})
		if tc.message == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.out.Name, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.message {
			t.Errorf("got %v, want %q", err, tc.message)
		}
	}
}
