// Command gen renders manifests/ with kustomize into the file the gotk
// binary embeds (run by `make manifests`):
//
//	go run ./cli/internal/install/gen manifests cli/internal/install/gotk-components.yaml
package main

import (
	"fmt"
	"os"

	"gotk.dev/cli/internal/install"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen MANIFESTS_DIR OUTPUT")
		os.Exit(2)
	}
	data, err := install.Build(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
