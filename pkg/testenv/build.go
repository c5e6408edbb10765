package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildPrograms builds main packages of the repository (directories such
// as "source-controller") into dir with one `go build`, so their links
// run in parallel; each binary is named after its directory.
func BuildPrograms(dir string, pkgs ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range pkgs {
		args = append(args, "./"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %v: %v\n%s", pkgs, err, out)
	}
	return nil
}
