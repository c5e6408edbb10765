package fieldcoverage

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// accessorReads maps each method declared in pkg/apis to the names it
// reads through selectors, so a field read only by an accessor
// (GetInterval) counts when controller code calls the accessor.
func accessorReads(dir string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := d.Name()
		if !strings.HasSuffix(base, ".go") || strings.HasSuffix(base, "_test.go") || strings.HasPrefix(base, "zz_generated") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Body == nil {
				continue
			}
			reads := out[fn.Name.Name]
			if reads == nil {
				reads = map[string]bool{}
				out[fn.Name.Name] = reads
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if s, ok := n.(*ast.SelectorExpr); ok {
					reads[s.Sel.Name] = true
				}
				return true
			})
		}
		return nil
	})
	return out, err
}

// TestFieldCoverage: every spec field of every kind has an entry in
// coverage; a test entry names a Test function of the repository; every
// field but the pending ones and those Flux ignores is read by its controller's code (its module,
// or pkg outside the API types, directly or through an accessor the code
// calls); no entry names a field that does not exist.
func TestFieldCoverage(t *testing.T) {
	fields, err := specFields()
	if err != nil {
		t.Fatal(err)
	}
	tests, err := testNames()
	if err != nil {
		t.Fatal(err)
	}
	accessors, err := accessorReads(filepath.Join(repoRoot, "pkg", "apis"))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := selectorsIn(filepath.Join(repoRoot, "pkg"), filepath.Join(repoRoot, "pkg", "apis"))
	if err != nil {
		t.Fatal(err)
	}
	modReads := map[string]map[string]bool{}
	reads := func(mod, goName string) bool {
		if modReads[mod] == nil {
			r, err := selectorsIn(filepath.Join(repoRoot, mod))
			if err != nil {
				t.Fatal(err)
			}
			modReads[mod] = r
		}
		if modReads[mod][goName] || shared[goName] {
			return true
		}
		for method, names := range accessors {
			if names[goName] && (modReads[mod][method] || shared[method]) {
				return true
			}
		}
		return false
	}

	known := map[string]bool{}
	counts := map[string]int{}
	var untested []string
	for _, f := range fields {
		known[f.path] = true
		entry, ok := coverage[f.path]
		if !ok {
			t.Errorf("%s: no coverage entry; name the test that checks its effect", f.path)
			continue
		}
		kind, _, _ := strings.Cut(f.path, ".")
		status, _, _ := strings.Cut(entry, ":")
		switch {
		case strings.HasPrefix(entry, "Test"):
			status = "tested"
			if !tests[entry] {
				t.Errorf("%s: test %s does not exist", f.path, entry)
			}
		case status == "untested":
			untested = append(untested, f.path)
		case status == "refused", status == "pending", status == "flux-ignores":
		default:
			t.Errorf("%s: entry %q is not a test name or untested:/refused:/pending:", f.path, entry)
		}
		counts[status]++
		mod, ok := controllerModule[kind]
		if !ok {
			t.Errorf("%s: kind %s has no controller module", f.path, kind)
			continue
		}
		if status != "pending" && status != "flux-ignores" && !reads(mod, f.goName) {
			t.Errorf("%s: no code of %s or pkg reads %s: the field is silently ignored", f.path, mod, f.goName)
		}
	}
	var stale []string
	for path := range coverage {
		if !known[path] {
			stale = append(stale, path)
		}
	}
	sort.Strings(stale)
	for _, p := range stale {
		t.Errorf("%s: coverage entry for a field that does not exist", p)
	}
	t.Logf("%d spec fields: %d tested, %d untested, %d refused, %d pending, %d ignored as by Flux",
		len(fields), counts["tested"], counts["untested"], counts["refused"], counts["pending"], counts["flux-ignores"])
	if testing.Verbose() {
		for _, p := range untested {
			t.Logf("untested: %s", p)
		}
	}
}
