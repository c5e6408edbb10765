package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"

	"gotk.dev/pkg/artifact/securepath"
)

// TreeDigest is the hex SHA-256 of a tree's regular files: each file's
// path, length and content, in lexical order. Two outputs with the same
// files have the same digest whatever the sources' revisions.
func TreeDigest(root *securepath.Root) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
