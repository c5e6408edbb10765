package values

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestSetPath(t *testing.T) {
	tests := []struct {
		name, path, raw string
		start           string
		want            string
		wantErr         string
	}{
		{name: "top level", path: "a", raw: "x", want: `{"a":"x"}`},
		{name: "nested creates maps", path: "a.b.c", raw: "1", want: `{"a":{"b":{"c":1}}}`},
		{name: "typed values", path: "a.t", raw: "true", start: `{"a":{"k":"keep"}}`, want: `{"a":{"k":"keep","t":true}}`},
		{name: "leading zero stays string", path: "pin", raw: "0123", want: `{"pin":"0123"}`},
		{name: "null", path: "n", raw: "null", want: `{"n":null}`},
		{name: "escaped dot", path: `annotations.example\.com/x`, raw: "v", want: `{"annotations":{"example.com/x":"v"}}`},
		{name: "list index grows list", path: "l[2]", raw: "c", want: `{"l":[null,null,"c"]}`},
		{name: "map in list", path: "l[0].name", raw: "n", start: `{"l":[{"name":"o","k":1}]}`, want: `{"l":[{"k":1,"name":"n"}]}`},
		{name: "nested lists", path: "m[1][0]", raw: "z", want: `{"m":[null,["z"]]}`},
		{name: "replaces scalar with map", path: "a.b", raw: "v", start: `{"a":"s"}`, want: `{"a":{"b":"v"}}`},
		{name: "value with commas and equals", path: "s", raw: "a=b,c", want: `{"s":"a=b,c"}`},
		{name: "empty path", path: "", wantErr: "empty path"},
		{name: "empty key", path: "a..b", wantErr: "empty key"},
		{name: "trailing dot", path: "a.", wantErr: "empty key"},
		{name: "bad index", path: "a[x]", wantErr: "invalid list index"},
		{name: "huge index", path: "a[99999999]", wantErr: "invalid list index"},
		{name: "unclosed", path: "a[1", wantErr: "unclosed"},
		{name: "index without key", path: "[0]", wantErr: "index without a key"},
		{name: "dangling escape", path: `a\`, wantErr: "escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := map[string]any{}
			if tt.start != "" {
				g.Expect(json.Unmarshal([]byte(tt.start), &m)).To(Succeed())
			}
			err := SetPath(m, tt.path, tt.raw)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			got, _ := json.Marshal(m)
			g.Expect(string(got)).To(MatchJSON(tt.want))
		})
	}
}

func TestMergeAndDigest(t *testing.T) {
	g := NewWithT(t)
	a := map[string]any{"x": map[string]any{"a": 1, "b": 2}, "l": []any{1}}
	b := map[string]any{"x": map[string]any{"b": 3}, "l": []any{2}}
	m := Merge(a, b)
	got, _ := json.Marshal(m)
	g.Expect(string(got)).To(MatchJSON(`{"x":{"a":1,"b":3},"l":[2]}`))

	g.Expect(Digest(nil)).To(Equal(Digest(map[string]any{})))
	g.Expect(Digest(map[string]any{"a": int64(3)})).To(Equal(Digest(map[string]any{"a": float64(3)})),
		"values read back from Helm storage decode numbers as float64")
	g.Expect(Digest(map[string]any{"a": 1})).NotTo(Equal(Digest(map[string]any{"a": 2})))
	g.Expect(Digest(map[string]any{"a": 1})).To(HavePrefix("sha256:"))
}

// FuzzSetPath checks that no targetPath or value panics SetPath, that a
// path that parses can be set, and that the result still encodes as JSON.
func FuzzSetPath(f *testing.F) {
	for _, s := range []string{"a", "a.b.c", "l[0]", "l[1].x[2]", `a\.b`, "a..b", "[0]", "a[", "a[0]b", "a.b[99999999]", `\`, "a[0][1].c"} {
		f.Add(s, "v")
	}
	f.Add("a.b", "true")
	f.Add("a", "0123")
	f.Fuzz(func(t *testing.T, path, raw string) {
		m := map[string]any{"a": "scalar", "l": []any{map[string]any{"k": 1}}}
		if err := SetPath(m, path, raw); err != nil {
			if _, perr := ParsePath(path); perr == nil {
				t.Fatalf("SetPath failed on a parsable path %q: %v", path, err)
			}
			return
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("result of %q does not encode: %v", path, err)
		}
		if !strings.Contains(path, "[") && !strings.Contains(path, `\`) {
			// A plain dotted path reads back what was set.
			var cur any = m
			for _, k := range strings.Split(path, ".") {
				cur = cur.(map[string]any)[k]
			}
			if cur != typed(raw) {
				t.Fatalf("path %q reads back %v, want %v", path, cur, typed(raw))
			}
		}
	})
}
