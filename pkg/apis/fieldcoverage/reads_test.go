package fieldcoverage

import (
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
