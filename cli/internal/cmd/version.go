package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/install"
)

func newVersionCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the gotk version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(g.Out, "gotk: %s\n", install.Version)
			return err
		},
	}
}
