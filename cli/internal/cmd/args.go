package cmd

import (
	"fmt"
	"strings"

	"gotk.dev/cli/internal/catalog"
)

// kindArgs splits `source git NAME...` or `ks NAME...` into the kind and
// the remaining arguments, preferring the longer kind name.
func kindArgs(args []string) (catalog.Kind, []string, error) {
	if len(args) == 0 {
		return catalog.Kind{}, nil, fmt.Errorf("name a kind: %v", catalog.Names())
	}
	// Flux's CLI says `get sources git`, `get images policy` and `get artifacts generators`.
	if first := strings.ToLower(args[0]); first == "sources" || first == "images" || first == "artifacts" {
		args = append([]string{strings.TrimSuffix(first, "s")}, args[1:]...)
	}
	if len(args) >= 2 {
		if k, err := catalog.Lookup(args[0], args[1]); err == nil {
			return k, args[2:], nil
		}
	}
	k, err := catalog.Lookup(args[0])
	if err != nil {
		return catalog.Kind{}, nil, err
	}
	return k, args[1:], nil
}
