package setters

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// seedPatch is the guide's production overlay patch with its marker.
var seedPatch = filepath.Join("..", "..", "..", "examples", "seed", "app-repo-corrected", "overlays", "production", "deployment-patch.yaml")

var myApp = types.NamespacedName{Namespace: "flux-system", Name: "my-app"}

func policies(tag, digest string) Policies {
	return Policies{myApp: {Name: "ghcr.io/myorg/my-app", Tag: tag, Digest: digest}}
}

// diffLines returns the 1-based numbers of the lines that differ.
func diffLines(t *testing.T, a, b string) []int {
	t.Helper()
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(al) != len(bl) {
		t.Fatalf("line count changed: %d -> %d", len(al), len(bl))
	}
	var out []int
	for i := range al {
		if al[i] != bl[i] {
			out = append(out, i+1)
		}
	}
	return out
}

func TestSeedPatchOnlyMarkedLineChanges(t *testing.T) {
	in, err := os.ReadFile(seedPatch)
	if err != nil {
		t.Fatal(err)
	}
	out, changes, err := UpdateBytes("deployment-patch.yaml", in, policies("v1.2.4", ""))
	if err != nil {
		t.Fatal(err)
	}
	lines := diffLines(t, string(in), string(out))
	if len(lines) != 1 || len(changes) != 1 {
		t.Fatalf("changed lines %v, changes %v", lines, changes)
	}
	got := strings.Split(string(out), "\n")[lines[0]-1]
	want := `          image: ghcr.io/myorg/my-app:v1.2.4  # {"$imagepolicy": "flux-system:my-app"}`
	if got != want {
		t.Fatalf("line %d = %q, want %q", lines[0], got, want)
	}
	c := changes[0]
	if c.Line != lines[0] || c.OldValue != "ghcr.io/myorg/my-app:v1.2.3" || c.NewValue != "ghcr.io/myorg/my-app:v1.2.4" ||
		c.Object != (ObjectID{APIVersion: "apps/v1", Kind: "Deployment", Name: "my-app"}) || c.Marker.String() != "flux-system:my-app" {
		t.Fatalf("change = %+v", c)
	}
	// Applying the same image again changes nothing and returns the input.
	again, changes, err := UpdateBytes("deployment-patch.yaml", out, policies("v1.2.4", ""))
	if err != nil || len(changes) != 0 || string(again) != string(out) {
		t.Fatalf("second run: %d changes, err %v", len(changes), err)
	}
}

func TestUpdateBytes(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, in, want, err string
		tag, digest         string
	}{
		{name: "tag name digest fields",
			in: `spec:
  image:
    repository: old/name # {"$imagepolicy": "flux-system:my-app:name"}
    tag: "v1.0.0" # {"$imagepolicy": "flux-system:my-app:tag"}
    digest: 'sha256:00' # {"$imagepolicy": "flux-system:my-app:digest"}
`,
			tag: "v1.2.4", digest: d,
			want: `spec:
  image:
    repository: ghcr.io/myorg/my-app # {"$imagepolicy": "flux-system:my-app:name"}
    tag: "v1.2.4" # {"$imagepolicy": "flux-system:my-app:tag"}
    digest: '` + d + `' # {"$imagepolicy": "flux-system:my-app:digest"}
`},
		{name: "full image with digest", in: "image: a:b # {\"$imagepolicy\": \"flux-system:my-app\"}\n", tag: "1.0", digest: d,
			want: "image: ghcr.io/myorg/my-app:1.0@" + d + " # {\"$imagepolicy\": \"flux-system:my-app\"}\n"},
		{name: "numeric-looking tag is quoted", in: "tag: v1 # {\"$imagepolicy\": \"flux-system:my-app:tag\"}\n", tag: "1.0",
			want: "tag: \"1.0\" # {\"$imagepolicy\": \"flux-system:my-app:tag\"}\n"},
		{name: "sequence item and comments kept", in: "# head\nimages:\n  - old:1 # {\"$imagepolicy\": \"flux-system:my-app\"}\n  - other:2 # not a marker\n", tag: "2",
			want: "# head\nimages:\n  - ghcr.io/myorg/my-app:2 # {\"$imagepolicy\": \"flux-system:my-app\"}\n  - other:2 # not a marker\n"},
		{name: "unknown policy left alone", in: "image: a:b # {\"$imagepolicy\": \"other:app\"}\n", tag: "2",
			want: "image: a:b # {\"$imagepolicy\": \"other:app\"}\n"},
		{name: "digest marker without digest left alone", in: "d: x # {\"$imagepolicy\": \"flux-system:my-app:digest\"}\n", tag: "2",
			want: "d: x # {\"$imagepolicy\": \"flux-system:my-app:digest\"}\n"},
		{name: "multi document with unicode before the value", in: "a: 1\n---\nname: \"é\"\nimage: \"é\" # {\"$imagepolicy\": \"flux-system:my-app:tag\"}\n", tag: "v9",
			want: "a: 1\n---\nname: \"é\"\nimage: \"v9\" # {\"$imagepolicy\": \"flux-system:my-app:tag\"}\n"},
		{name: "malformed marker", in: "image: a:b # {\"$imagepolicy\": flux-system:my-app}\n", err: "x.yaml:1: malformed setter marker"},
		{name: "marker without policy name", in: "image: a:b # {\"$imagepolicy\": \"flux-system\"}\n", err: "want \"<namespace>:<policy>"},
		{name: "marker with unknown field", in: "image: a:b # {\"$imagepolicy\": \"flux-system:my-app:version\"}\n", err: `unknown field "version"`},
		{name: "malformed YAML", in: "image: [a:b # {\"$imagepolicy\": \"flux-system:my-app\"}\n", err: "x.yaml: malformed YAML"},
		{name: "marker on a mapping", in: "image: # {\"$imagepolicy\": \"flux-system:my-app\"}\n  a: b\n", err: "is not on a scalar value"},
		{name: "block scalar refused", in: "image: | # {\"$imagepolicy\": \"flux-system:my-app\"}\n  a:b\n", tag: "2", err: "block scalars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := UpdateBytes("x.yaml", []byte(tc.in), policies(tc.tag, tc.digest))
			if tc.err != "" {
				var se *Error
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &se) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if string(out) != tc.in {
					t.Fatal("input changed on error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", out, tc.want)
			}
		})
	}
}

func TestParseMarker(t *testing.T) {
	for comment, want := range map[string]string{
		`# {"$imagepolicy": "ns:app"}`:        "ns:app",
		`#{"$imagepolicy":"ns:app:tag"}`:      "ns:app:tag",
		`# {"$imagepolicy": "ns:app:name"}  `: "ns:app:name",
		`# {"$imagepolicy": "ns:app:digest"}`: "ns:app:digest",
		`# just a comment`:                    "",
	} {
		m, ok, err := ParseMarker(comment)
		if err != nil || ok != (want != "") || (ok && m.String() != want) {
			t.Errorf("%q: %v %v %v", comment, m, ok, err)
		}
	}
	for _, bad := range []string{`# $imagepolicy`, `# {"$imagepolicy": 1}`, `# {"$imagepolicy": "a:b:c:d"}`, `# {"$imagepolicy": ":b"}`, `# {"x": "$imagepolicy"}`} {
		if _, ok, err := ParseMarker(bad); !ok || err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// UpdateDir rewrites only marked files, leaves hidden directories alone and
// writes nothing when one file is malformed.
func TestUpdateDir(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	patch, _ := os.ReadFile(seedPatch)
	write("overlays/production/deployment-patch.yaml", string(patch))
	write("overlays/production/kustomization.yaml", "resources: []\n")
	write("overlays/production/.hidden/x.yaml", string(patch))
	write("base/deployment.yaml", string(patch))

	res, err := UpdateDir(root, "./overlays/production", policies("v1.2.4", ""))
	if err != nil {
		t.Fatal(err)
	}
	if files := res.Files(); len(files) != 1 || files[0] != "overlays/production/deployment-patch.yaml" {
		t.Fatalf("files = %v", files)
	}
	if len(res.Objects()) != 1 {
		t.Fatalf("objects = %v", res.Objects())
	}
	got, _ := os.ReadFile(filepath.Join(root, "overlays/production/deployment-patch.yaml"))
	if !strings.Contains(string(got), "my-app:v1.2.4  #") {
		t.Fatalf("not rewritten:\n%s", got)
	}
	for _, untouched := range []string{"overlays/production/.hidden/x.yaml", "base/deployment.yaml"} {
		if b, _ := os.ReadFile(filepath.Join(root, untouched)); string(b) != string(patch) {
			t.Fatalf("%s changed", untouched)
		}
	}

	// A malformed file anywhere under the path: error, nothing written.
	write("overlays/production/broken.yaml", "a: [ # {\"$imagepolicy\": \"flux-system:my-app\"}\n")
	before, _ := os.ReadFile(filepath.Join(root, "overlays/production/deployment-patch.yaml"))
	if _, err := UpdateDir(root, "overlays/production", policies("v1.2.5", "")); err == nil || !strings.Contains(err.Error(), "overlays/production/broken.yaml") {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(root, "overlays/production/deployment-patch.yaml"))
	if string(after) != string(before) {
		t.Fatal("a file was written although another was malformed")
	}
	// Paths leaving the root are refused naming the path; a symlinked
	// directory leading out is neither read nor written.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "d.yaml"), patch, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"../outside": `update path "../outside": path "../outside": path escapes root`,
		"/etc":       "absolute path not allowed",
		"out":        `update path "out": path "out": resolves outside root through a symlink`,
	} {
		if _, err := UpdateDir(root, p, policies("v1", "")); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("UpdateDir(%q) = %v; want %q", p, err, want)
		}
	}
	if err := os.Remove(filepath.Join(root, "overlays/production/broken.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateDir(root, ".", policies("v1.2.6", "")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "d.yaml")); string(b) != string(patch) {
		t.Fatal("a file outside the root was rewritten through a symlink")
	}
	if _, err := UpdateDir(root, "missing", policies("v1", "")); err == nil {
		t.Fatal("a missing path was accepted")
	}
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{`# {"$imagepolicy": "ns:app"}`, `# {"$imagepolicy": "ns:app:tag"}`, `# {"$imagepolicy": 1}`, `# $imagepolicy`, `#`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, comment string) {
		m, ok, err := ParseMarker(comment)
		if !ok && err != nil {
			t.Fatal("error for a non-marker")
		}
		if ok && err == nil {
			if m.Namespace == "" || m.Name == "" {
				t.Fatalf("accepted empty parts: %+v", m)
			}
			if again, _, err := ParseMarker(`# {"$imagepolicy": "` + m.String() + `"}`); err != nil || again != m {
				t.Fatalf("round trip of %+v: %+v, %v", m, again, err)
			}
		}
	})
}

func FuzzUpdateBytes(f *testing.F) {
	seed, _ := os.ReadFile(seedPatch)
	f.Add(string(seed), "v1.2.4")
	f.Add("image: 'a' # {\"$imagepolicy\": \"flux-system:my-app:tag\"}\n", "1.0")
	f.Add("- \"x\\ty\" # {\"$imagepolicy\": \"flux-system:my-app\"}\n", "t")
	f.Add("a: [ # {\"$imagepolicy\": \"flux-system:my-app\"}", "x")
	f.Fuzz(func(t *testing.T, in, tag string) {
		out, changes, err := UpdateBytes("f.yaml", []byte(in), policies(tag, ""))
		if err != nil || len(changes) == 0 {
			if string(out) != in {
				t.Fatal("input changed without a change")
			}
			return
		}
		if err := parses(out); err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
	})
}
