// Package tagstore keeps the tag list of each ImageRepository on local disk,
// one file per repository, so a restart does not lose the scan results and
// the tags never have to live in the object's status.
package tagstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// fileSuffix names tag files; the rest of the name is "<namespace>_<name>",
// unambiguous because Kubernetes names never contain "_".
const fileSuffix = ".tags"

// ErrNotFound is returned by Get when no tags were stored for a repository.
var ErrNotFound = errors.New("no tags stored")

// Store is a directory of tag files. It is safe for concurrent use; writes
// are atomic (temp file, fsync, rename), so a reader sees either the old or
// the new list, never a torn one.
type Store struct {
	dir string
	mu  sync.RWMutex
}

// Open creates dir if needed and returns a Store rooted there.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("tag store: empty storage path")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("tag store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the directory of the store.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(namespace, name string) (string, error) {
	// Reject anything that could leave the directory; valid object names
	// never contain these.
	for _, part := range []string{namespace, name} {
		if part == "" || strings.ContainsAny(part, "/\\_\x00") || part == "." || part == ".." {
			return "", fmt.Errorf("tag store: invalid key %q/%q", namespace, name)
		}
	}
	return filepath.Join(s.dir, namespace+"_"+name+fileSuffix), nil
}

// Set replaces the tags of a repository. Tags must not contain newlines
// (registry tags cannot).
func (s *Store) Set(namespace, name string, tags []string) error {
	p, err := s.path(namespace, name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Grow(len(tags) * 16)
	for _, t := range tags {
		if strings.ContainsAny(t, "\n\r") {
			return fmt.Errorf("tag store: tag %q contains a line break", t)
		}
		buf.WriteString(t)
		buf.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return writeAtomic(p, buf.Bytes())
}

// Get returns the tags stored for a repository, in stored order, or
// ErrNotFound.
func (s *Store) Get(namespace, name string) ([]string, error) {
	p, err := s.path(namespace, name)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tag store: %w", err)
	}
	defer f.Close()
	var tags []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			tags = append(tags, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tag store: reading %s/%s: %w", namespace, name, err)
	}
	return tags, nil
}

// Has reports whether tags are stored for a repository.
func (s *Store) Has(namespace, name string) bool {
	p, err := s.path(namespace, name)
	if err != nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err = os.Stat(p)
	return err == nil
}

// Delete removes the tags of a repository; deleting what is absent is fine.
func (s *Store) Delete(namespace, name string) error {
	p, err := s.path(namespace, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tag store: %w", err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("tag store: %w", err)
	}
	name := tmp.Name()
	cleanup := func(e error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("tag store: %w", e)
	}
	if _, err := tmp.Write(data); err != nil {
		return cleanup(err)
	}
	// Sync before rename so a crash cannot leave an empty file under the
	// final name.
	if err := tmp.Sync(); err != nil {
		return cleanup(err)
	}
	if err := tmp.Close(); err != nil {
		return cleanup(err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("tag store: %w", err)
	}
	return nil
}
