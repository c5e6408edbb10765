package cmd

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"gotk.dev/pkg/oci"
)

func newArtifactVerb(verb, short string, sub *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: verb, Short: short}
	cmd.AddCommand(sub)
	return cmd
}

func newPullCommand(g *Globals) *cobra.Command {
	var rf registryFlags
	var output string
	sub := &cobra.Command{
		Use:   "artifact oci://REPOSITORY:TAG --output DIR",
		Short: "Pull an OCI artifact and extract its content",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return errors.New("--output is required")
			}
			ref, err := rf.ref(args[0])
			if err != nil {
				return err
			}
			o, err := rf.options(cmd.Context(), ref.Context().RegistryStr())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.Out, "► pulling artifact from %s\n", ref)
			m, err := oci.PullArtifact(cmd.Context(), ref, output, o)
			if err != nil {
				return err
			}
			if s := m.Annotations[oci.SourceAnnotation]; s != "" {
				fmt.Fprintf(g.Out, "✔ source %s\n", s)
			}
			if r := m.Annotations[oci.RevisionAnnotation]; r != "" {
				fmt.Fprintf(g.Out, "✔ revision %s\n", r)
			}
			fmt.Fprintf(g.Out, "✔ extracted artifact to %s\n", output)
			return nil
		},
	}
	sub.Flags().StringVarP(&output, "output", "o", "", "directory to extract into")
	rf.bind(sub)
	return newArtifactVerb("pull", "Pull an OCI artifact", sub)
}

func newTagCommand(g *Globals) *cobra.Command {
	var rf registryFlags
	var tags []string
	sub := &cobra.Command{
		Use:   "artifact oci://REPOSITORY:TAG --tag TAG...",
		Short: "Add tags to an OCI artifact",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(tags) == 0 {
				return errors.New("--tag is required")
			}
			ref, err := rf.ref(args[0])
			if err != nil {
				return err
			}
			o, err := rf.options(cmd.Context(), ref.Context().RegistryStr())
			if err != nil {
				return err
			}
			for _, t := range tags {
				fmt.Fprintf(g.Out, "► tagging artifact\n")
				if err := oci.Tag(cmd.Context(), ref, t, o); err != nil {
					return err
				}
				fmt.Fprintf(g.Out, "✔ artifact tagged as %s\n", ref.Context().Tag(t))
			}
			return nil
		},
	}
	sub.Flags().StringSliceVar(&tags, "tag", nil, "tag to add (repeatable)")
	rf.bind(sub)
	return newArtifactVerb("tag", "Tag an OCI artifact", sub)
}

func newListCommand(g *Globals) *cobra.Command {
	var rf registryFlags
	var filterRegex, filterSemver string
	sub := &cobra.Command{
		Use:     "artifacts oci://REPOSITORY",
		Aliases: []string{"artifact"},
		Short:   "List the tags of an OCI artifact repository with their digest, source and revision",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url, ok := strings.CutPrefix(args[0], "oci://")
			if !ok {
				return fmt.Errorf("artifact URL %q must start with oci://", args[0])
			}
			repo, err := oci.ParseRepository(url, rf.insecure)
			if err != nil {
				return err
			}
			o, err := rf.options(cmd.Context(), repo.RegistryStr())
			if err != nil {
				return err
			}
			var re *regexp.Regexp
			if filterRegex != "" {
				if re, err = regexp.Compile(filterRegex); err != nil {
					return fmt.Errorf("--filter-regex: %w", err)
				}
			}
			tags, err := oci.ListTags(cmd.Context(), repo, o)
			if err != nil {
				return err
			}
			var within *semver.Constraints
			if filterSemver != "" {
				if within, err = semver.NewConstraint(filterSemver); err != nil {
					return fmt.Errorf("--filter-semver: %w", err)
				}
			}
			w := tabwriter.NewWriter(g.Out, 0, 0, 3, ' ', 0)
			fmt.Fprintln(w, "ARTIFACT\tDIGEST\tSOURCE\tREVISION")
			for _, t := range tags {
				if re != nil && !re.MatchString(t) {
					continue
				}
				if within != nil {
					if v, err := semver.NewVersion(t); err != nil || !within.Check(v) {
						continue
					}
				}
				img, err := oci.Image(cmd.Context(), repo.Tag(t), o)
				if err != nil {
					return err
				}
				digest, err := img.Digest()
				if err != nil {
					return err
				}
				m, err := img.Manifest()
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", repo.Tag(t), digest, m.Annotations[oci.SourceAnnotation], m.Annotations[oci.RevisionAnnotation])
			}
			return w.Flush()
		},
	}
	sub.Flags().StringVar(&filterRegex, "filter-regex", "", "only tags matching this regular expression")
	sub.Flags().StringVar(&filterSemver, "filter-semver", "", "only tags in this semver range")
	rf.bind(sub)
	return newArtifactVerb("list", "List OCI artifacts", sub)
}
