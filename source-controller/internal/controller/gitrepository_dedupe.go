package controller

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/fluxcd/pkg/apis/meta"

	"gotk.dev/pkg/artifact"
)

// contentIndex lets identical artifacts of different objects share disk
// space: it remembers one stored file per digest, and a new artifact with
// the same digest and size becomes a hard link to it. Artifacts are
// written by atomic rename and never modified in place, so a shared inode
// never changes under a reader; each object's garbage collection removes
// only its own link.
type contentIndex struct {
	mu       sync.Mutex
	byDigest map[string]storedFile
}

// storedFile is a remembered artifact file and its identity when it was
// recorded: artifacts are replaced by rename, so a different inode at the
// same path means different content.
type storedFile struct {
	path string
	info os.FileInfo
}

// share replaces art's file with a hard link to an identical stored file,
// or records it as the one to link to. Failures only cost disk space.
func (ci *contentIndex) share(st *artifact.Storage, art meta.Artifact) {
	p, err := st.LocalPath(art)
	if err != nil || art.Digest == "" || art.Size == nil {
		return
	}
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if ci.byDigest == nil {
		ci.byDigest = map[string]storedFile{}
	}
	pi, err := os.Stat(p)
	if err != nil {
		return
	}
	other, ok := ci.byDigest[art.Digest]
	if !ok || other.path == p {
		ci.byDigest[art.Digest] = storedFile{path: p, info: pi}
		return
	}
	oi, err := os.Stat(other.path)
	if err != nil || !os.SameFile(oi, other.info) || oi.Size() != *art.Size {
		// The remembered file is gone or was replaced.
		ci.byDigest[art.Digest] = storedFile{path: p, info: pi}
		return
	}
	if os.SameFile(oi, pi) {
		return
	}
	tmp := filepath.Join(filepath.Dir(p), ".tmp-link-"+filepath.Base(p))
	_ = os.Remove(tmp)
	if err := os.Link(other.path, tmp); err != nil {
		return
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
	}
}
