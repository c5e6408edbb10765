package localcluster

import (
	"errors"
	"os"
	"path/filepath"
)

// RepoRoot finds the repository root (the directory holding go.work) from
// the working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

// BinDir is where `make controlplane` puts the control plane binaries:
// $GOTK_CONTROLPLANE_BIN when set, else <repo>/bin.
func BinDir() (string, error) {
	if dir := os.Getenv("GOTK_CONTROLPLANE_BIN"); dir != "" {
		return dir, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

// CRDDir is the directory of the generated CRDs.
func CRDDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "manifests", "crds"), nil
}
