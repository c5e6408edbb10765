// Command gotk is the gotk command line: install, bootstrap and day-2
// operations, and `gotk dev` for a local control plane with the controllers.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/dev"
)

func main() {
	root := &cobra.Command{
		Use:           "gotk",
		Short:         "gotk keeps a cluster equal to what Git declares",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(dev.NewCommand())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "✗", err)
		os.Exit(1)
	}
}
