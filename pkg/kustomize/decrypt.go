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
	// decrypted is set once a file was decrypted: the output then holds
	// secrets and depends on keys kept outside the artifact.
	decrypted bool
}

// ReadFile returns the decrypted content of path.
func (f *decryptingFS) ReadFile(path string) ([]byte, error) {
	b, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, decrypted, err := f.dec.DecryptFile(rel(path), b)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if f.err == nil {
			f.err = err
		}
		return nil, err
	}
	f.decrypted = f.decrypted || decrypted
	return out, nil
}

func (f *decryptingFS) anyDecrypted() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.decrypted
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
