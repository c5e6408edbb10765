package artifact

import (
	"path/filepath"
	"sync"

	"github.com/fluxcd/pkg/apis/meta"
)

// dirLocks holds one mutex per artifact directory, shared by every Storage
// in the process, with reference counts so unused entries are dropped.
var dirLocks = struct {
	sync.Mutex
	m map[string]*refMutex
}{m: map[string]*refMutex{}}

type refMutex struct {
	sync.Mutex
	refs int
}

// Lock takes an exclusive in-process lock on art's directory (all
// artifacts of one object) and returns the function that releases it.
// Hold it around write + symlink + garbage collection of one object so
// concurrent reconciles of the same object do not interleave. It does not
// coordinate separate processes.
func (s *Storage) Lock(art meta.Artifact) (unlock func(), err error) {
	p, err := s.LocalPath(art)
	if err != nil {
		return nil, err
	}
	key := filepath.Dir(p)

	dirLocks.Lock()
	m := dirLocks.m[key]
	if m == nil {
		m = &refMutex{}
		dirLocks.m[key] = m
	}
	m.refs++
	dirLocks.Unlock()

	m.Lock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.Unlock()
			dirLocks.Lock()
			m.refs--
			if m.refs == 0 {
				delete(dirLocks.m, key)
			}
			dirLocks.Unlock()
		})
	}, nil
}
