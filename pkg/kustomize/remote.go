package kustomize

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ErrRemoteBase is wrapped when a kustomization refers to a remote base.
var ErrRemoteBase = errors.New("remote base refused")

// hostLike matches a first path element that is a host name
// ("github.com/org/repo", "example.com:8080/x").
var hostLike = regexp.MustCompile(`^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+(:[0-9]+)?$`)

// isRemote reports whether a resources/components entry names something
// outside the artifact (a Git repository or URL) rather than a local path.
func isRemote(entry string) bool {
	switch {
	case strings.Contains(entry, "://"), strings.HasPrefix(entry, "git@"),
		strings.Contains(entry, "?ref="), strings.Contains(entry, "?version="):
		return true
	}
	first, rest, ok := strings.Cut(entry, "/")
	return ok && rest != "" && hostLike.MatchString(first)
}

// checkRemote walks the local bases reachable from the kustomization in
// dir and refuses any remote base unless allow is set (fetching one needs
// git, a disk checkout and network access the artifact was meant to
// replace). Even when allowed, a file:// base is refused: it would read a
// repository on the controller's own disk. It reports whether an allowed
// remote base was found: such a build depends on more than the artifact.
func checkRemote(fsys filesys.FileSystem, dir string, seen map[string]bool, allow bool) (remote bool, err error) {
	if seen[dir] {
		return false, nil
	}
	seen[dir] = true
	kus, kfile, err := readKustomization(fsys, dir)
	if err != nil || kus == nil {
		// A parse error is reported by the build itself, with context.
		return false, nil
	}
	entries := append(append([]string{}, kus.Resources...), kus.Components...)
	for _, e := range entries {
		local := path.Join(dir, e)
		if fsys.Exists(local) {
			if fsys.IsDir(local) {
				r, err := checkRemote(fsys, local, seen, allow)
				if err != nil {
					return false, err
				}
				remote = remote || r
			}
			continue
		}
		if strings.HasPrefix(strings.ToLower(e), "file:") {
			return false, fmt.Errorf("%w: %s refers to %q: file:// bases would read the controller's disk and are never fetched", ErrRemoteBase, rel(kfile), e)
		}
		if !allow {
			if !isRemote(e) {
				continue
			}
			return false, fmt.Errorf("%w: %s refers to the remote base %q; remote bases are not fetched by this controller: vendor the base into the source repository (or publish it as its own source)", ErrRemoteBase, rel(kfile), e)
		}
		// kustomize's loader may fetch any entry that is not a local path.
		remote = true
	}
	return remote, nil
}
