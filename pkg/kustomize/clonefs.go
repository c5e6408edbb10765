package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// cloneFS lets kustomize's own loader fetch remote bases while the build
// stays over the in-memory artifact: kustomize clones a remote base with
// the git program into a fresh directory "<tmp>/kustomize-*" on disk
// and reads it back through the build's file system, so paths under
// those directories go to the disk and every other path to the
// artifact. The artifact cannot shadow a clone, and a clone cannot reach
// outside its directory (kustomize restricts it to its root).
type cloneFS struct {
	filesys.FileSystem // the artifact, in memory
	disk               filesys.FileSystem
	prefix             string
}

var (
	tmpOnce   sync.Once
	tmpPrefix string
)

// clonePrefix is where kustomize puts its clones: os.TempDir with
// symlinks resolved, as kustomize resolves them.
func clonePrefix() string {
	tmpOnce.Do(func() {
		dir := os.TempDir()
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		tmpPrefix = filepath.Join(dir, "kustomize-")
	})
	return tmpPrefix
}

func withClones(artifact filesys.FileSystem) filesys.FileSystem {
	return &cloneFS{FileSystem: artifact, disk: filesys.MakeFsOnDisk(), prefix: clonePrefix()}
}

func (c *cloneFS) on(path string) filesys.FileSystem {
	if strings.HasPrefix(filepath.Clean(path), c.prefix) {
		return c.disk
	}
	return c.FileSystem
}

// Create implements filesys.FileSystem.
func (c *cloneFS) Create(path string) (filesys.File, error) { return c.on(path).Create(path) }

// Mkdir implements filesys.FileSystem.
func (c *cloneFS) Mkdir(path string) error { return c.on(path).Mkdir(path) }

// MkdirAll implements filesys.FileSystem.
func (c *cloneFS) MkdirAll(path string) error { return c.on(path).MkdirAll(path) }

// RemoveAll implements filesys.FileSystem (kustomize removes its clones).
func (c *cloneFS) RemoveAll(path string) error { return c.on(path).RemoveAll(path) }

// Open implements filesys.FileSystem.
func (c *cloneFS) Open(path string) (filesys.File, error) { return c.on(path).Open(path) }

// IsDir implements filesys.FileSystem.
func (c *cloneFS) IsDir(path string) bool { return c.on(path).IsDir(path) }

// ReadDir implements filesys.FileSystem.
func (c *cloneFS) ReadDir(path string) ([]string, error) { return c.on(path).ReadDir(path) }

// CleanedAbs implements filesys.FileSystem.
func (c *cloneFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	return c.on(path).CleanedAbs(path)
}

// Exists implements filesys.FileSystem.
func (c *cloneFS) Exists(path string) bool { return c.on(path).Exists(path) }

// Glob implements filesys.FileSystem.
func (c *cloneFS) Glob(pattern string) ([]string, error) { return c.on(pattern).Glob(pattern) }

// ReadFile implements filesys.FileSystem.
func (c *cloneFS) ReadFile(path string) ([]byte, error) { return c.on(path).ReadFile(path) }

// WriteFile implements filesys.FileSystem.
func (c *cloneFS) WriteFile(path string, data []byte) error { return c.on(path).WriteFile(path, data) }

// Walk implements filesys.FileSystem.
func (c *cloneFS) Walk(path string, walkFn filepath.WalkFunc) error {
	return c.on(path).Walk(path, walkFn)
}
