package ui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadSessionSecret reads the secret the session token, cookie and CSRF
// tokens derive from, creating the file (mode 0600) with a random one
// when it is missing, so a restarted UI keeps its URL and open pages
// keep working.
func LoadSessionSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) >= 32:
		return b, nil
	case err == nil:
		return nil, fmt.Errorf("session secret %s: %d bytes, want at least 32", path, len(b))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("session secret: %w", err)
	}
	b = make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	return b, nil
}
