package artifact

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
)

// staleTempAge is how old an abandoned temporary file must be before
// GarbageCollect removes it, so in-progress writes are never touched.
const staleTempAge = time.Hour

// GarbageCollect removes old files from art's directory and returns the
// deleted paths. It keeps art's own file plus the newest
// RetentionRecords-1 other files (by modification time); files beyond
// those are deleted once they are older than RetentionTTL (immediately
// when the TTL is 0). Symlinks (latest.tar.gz), directories and lock files
// are never collected; abandoned temporary files are removed after an hour.
// The walk stops with an error when timeout (if > 0) or ctx expires.
func (s *Storage) GarbageCollect(ctx context.Context, art meta.Artifact, timeout time.Duration) ([]string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	current, err := s.LocalPath(art)
	if err != nil {
		return nil, err
	}
	garbage, err := s.garbageFiles(current, time.Now())
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for _, p := range garbage {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("garbage collection interrupted: %w", err))
			break
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, p)
	}
	return deleted, errors.Join(errs...)
}

// garbageFiles lists what GarbageCollect deletes, oldest first.
func (s *Storage) garbageFiles(current string, now time.Time) ([]string, error) {
	dir := filepath.Dir(current)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("garbage collection: %w", err)
	}
	type file struct {
		path    string
		modTime time.Time
	}
	var others []file
	var garbage []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // directories, symlinks, special files
		}
		name := e.Name()
		p := filepath.Join(dir, name)
		info, err := e.Info()
		if err != nil {
			continue // vanished meanwhile
		}
		switch {
		case p == current, strings.HasSuffix(name, ".lock"):
			continue
		case strings.HasPrefix(name, tempPrefix):
			if now.Sub(info.ModTime()) > staleTempAge {
				garbage = append(garbage, p)
			}
			continue
		}
		others = append(others, file{path: p, modTime: info.ModTime()})
	}
	// Newest first; ties broken by name for a stable result.
	sort.Slice(others, func(i, j int) bool {
		if !others[i].modTime.Equal(others[j].modTime) {
			return others[i].modTime.After(others[j].modTime)
		}
		return others[i].path > others[j].path
	})
	keep := s.RetentionRecords - 1
	if keep < 0 {
		keep = 0
	}
	for i := len(others) - 1; i >= keep; i-- {
		if now.Sub(others[i].modTime) >= s.RetentionTTL {
			garbage = append(garbage, others[i].path)
		}
	}
	return garbage, nil
}
