package kustomize

import (
	"errors"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// FileDecryptor decrypts an encrypted file as the build reads it and
// returns other files unchanged (kustomize-controller's SOPS decryptor is
// one; this package does not link the SOPS key services).
type FileDecryptor interface {
	DecryptFile(name string, data []byte) (out []byte, decrypted bool, err error)
}

// ErrDecryption is wrapped when a file of the build cannot be decrypted;
// nothing of such a build may be applied.
var ErrDecryption = errors.New("decryption failed")

// decryptingFS decrypts manifests and generator inputs (.env, .json,
// .yaml) as kustomize reads them, so every file the build uses — and only
// those — is decrypted, in memory.
type decryptingFS struct {
	filesys.FileSystem
	dec FileDecryptor

	mu  sync.Mutex
	err error
}

// ReadFile returns the decrypted content of path.
func (f *decryptingFS) ReadFile(path string) ([]byte, error) {
	b, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, _, err := f.dec.DecryptFile(rel(path), b)
	if err != nil {
		f.mu.Lock()
		if f.err == nil {
			f.err = err
		}
		f.mu.Unlock()
		return nil, err
	}
	return out, nil
}

func (f *decryptingFS) firstError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// decryptError is a decryption failure met during a build.
type decryptError struct{ err error }

func (e decryptError) Error() string        { return e.err.Error() }
func (e decryptError) Unwrap() error        { return e.err }
func (e decryptError) Is(target error) bool { return target == ErrDecryption }
