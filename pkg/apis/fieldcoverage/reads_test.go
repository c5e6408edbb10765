package fieldcoverage

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// repoRoot is the repository root, from this package's directory.
const repoRoot = "../../.."

// controllerModule is the module whose code implements each kind.
var controllerModule = map[string]string{
	"GitRepository": "source-controller", "OCIRepository": "source-controller", "HelmRepository": "source-controller",
	"HelmChart": "source-controller", "Bucket": "source-controller", "ExternalArtifact": "source-controller",
	"ArtifactGenerator": "source-controller", "Kustomization": "kustomize-controller", "HelmRelease": "helm-controller",
	"ImageRepository": "image-automation-controller", "ImagePolicy": "image-automation-controller",
	"ImageUpdateAutomation": "image-automation-controller",
	"Alert":                 "notification-controller", "Provider": "notification-controller", "Receiver": "notification-controller",
}

// selectorsIn returns the names read through a selector (x.Name) in the
// non-test Go files under dir, but for the skipped directories; generated
// deep copies, which touch every field, do not count.
func selectorsIn(dir string, skip ...string) (map[string]bool, error) {
	names := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || d.Name() == "fieldcoverage" {
				return filepath.SkipDir
			}
			for _, sk := range skip {
				if filepath.Clean(path) == filepath.Clean(sk) {
					return filepath.SkipDir
				}
			}
			return nil
		}
		base := d.Name()
		if !strings.HasSuffix(base, ".go") || strings.HasSuffix(base, "_test.go") || strings.HasPrefix(base, "zz_generated") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				names[s.Sel.Name] = true
			}
			return true
		})
		return nil
	})
	return names, err
}

var testFuncRe = regexp.MustCompile(`(?m)^func (Test\w+)\(`)

// testNames returns every Test function of the repository's *_test.go files.
func testNames() (map[string]bool, error) {
	names := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != repoRoot || d.Name() == "bin" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFuncRe.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	return names, err
}
