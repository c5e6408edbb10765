package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"gotk.dev/pkg/kustomize"
)

func newEnvsubstCommand(g *Globals) *cobra.Command {
	var strict bool
	cmd := &cobra.Command{
		Use:   "envsubst",
		Short: "Substitute ${VAR} expressions from the environment in stdin, as a Kustomization's postBuild does",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return err
			}
			vars := map[string]string{}
			for _, kv := range os.Environ() {
				if k, v, ok := strings.Cut(kv, "="); ok {
					vars[k] = v
				}
			}
			s := &kustomize.Substitution{Vars: vars, Strict: strict}
			out, err := s.Text(string(in))
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(g.Out, out)
			return err
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "fail when a variable without a default is not set")
	return cmd
}
