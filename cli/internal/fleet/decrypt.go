package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/sops"
)

// loadDecryptor reads --decrypt-key files (age identities, or armored
// OpenPGP private keys named *.asc) into one SOPS decryptor, as
// kustomize-controller reads a decryption Secret.
func loadDecryptor(files []string) (kustomize.FileDecryptor, error) {
	if len(files) == 0 {
		return nil, nil
	}
	d, err := sops.NewDecryptor(nil)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--decrypt-key: %w", err)
		}
		name := filepath.Base(f)
		if !strings.HasSuffix(name, sops.PGPKeySuffix) {
			name = strings.TrimSuffix(name, sops.AgeKeySuffix) + sops.AgeKeySuffix
		}
		if err := d.AddKey(name, data); err != nil {
			return nil, fmt.Errorf("--decrypt-key %s: %w", f, err)
		}
	}
	return d, nil
}
