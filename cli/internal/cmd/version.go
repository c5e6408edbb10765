package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"gotk.dev/pkg/version"
)

func newVersionCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the gotk version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(g.Out, "gotk: %s\n", version.Version)
			return err
		},
	}
}
