package cmd

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"gotk.dev/pkg/artifact/sourceignore"
	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/oci"
)

func newBuildArtifact(g *Globals) *cobra.Command {
	var path, output string
	var ignorePaths []string
	cmd := &cobra.Command{
		Use:   "artifact --path DIR [--output FILE]",
		Short: "Write the tarball `push artifact` would push for a directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return errors.New("--path is required")
			}
			var buf bytes.Buffer
			if err := tarball.Archive(&buf, path, sourceignore.PathsFilter(path, ignorePaths)); err != nil {
				return err
			}
			if err := os.WriteFile(output, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.Out, "✔ artifact created at %s\n", output)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "directory to pack")
	cmd.Flags().StringVarP(&output, "output", "o", "artifact.tgz", "file to write")
	cmd.Flags().StringSliceVar(&ignorePaths, "ignore-paths", nil, "paths to leave out of the artifact, in .gitignore format")
	return cmd
}

// newDiffArtifact compares a directory with a pushed artifact: the
// tarball is deterministic, so equal contents give equal layer digests.
// Exit 0 = same, 1 = different, >1 = error (as `diff kustomization`).
func newDiffArtifact(g *Globals) *cobra.Command {
	var rf registryFlags
	var path string
	var ignorePaths []string
	cmd := &cobra.Command{
		Use:   "artifact oci://REPOSITORY:TAG --path DIR",
		Short: "Report whether a directory's contents differ from a pushed artifact",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return errors.New("--path is required")
			}
			ref, err := rf.ref(args[0])
			if err != nil {
				return err
			}
			o, err := rf.options(cmd.Context(), ref.Context().RegistryStr())
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := tarball.Archive(&buf, path, sourceignore.PathsFilter(path, ignorePaths)); err != nil {
				return err
			}
			local := fmt.Sprintf("sha256:%x", sha256.Sum256(buf.Bytes()))
			img, err := oci.Image(cmd.Context(), ref, o)
			if err != nil {
				return err
			}
			m, err := img.Manifest()
			if err != nil {
				return err
			}
			remote := ""
			for _, l := range m.Layers {
				if l.MediaType == oci.FluxContentMediaType {
					remote = l.Digest.String()
				}
			}
			if remote == "" {
				return fmt.Errorf("%s is not a Flux artifact: no layer of type %s", ref, oci.FluxContentMediaType)
			}
			if remote != local {
				return &ExitCodeError{Code: 1, Msg: "the remote artifact contents differs from the local one"}
			}
			fmt.Fprintln(g.Out, "✔ no changes detected")
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "directory to compare")
	cmd.Flags().StringSliceVar(&ignorePaths, "ignore-paths", nil, "paths to leave out of the comparison, in .gitignore format (as pushed with the same --ignore-paths)")
	rf.bind(cmd)
	return cmd
}
