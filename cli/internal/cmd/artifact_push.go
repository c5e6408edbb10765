package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/artifact/sourceignore"
	"gotk.dev/pkg/oci"
)

// reproducibleCreated is the created annotation of --reproducible pushes
// (as Flux): with it, the same content always has the same digest.
const reproducibleCreated = "1970-01-01T00:00:00Z"

// pushedArtifact is what `push artifact --output json|yaml` prints, in
// Flux's field names.
type pushedArtifact struct {
	URL        string `json:"url"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest"`
}

type pushFlags struct {
	rf                     registryFlags
	path, source, revision string
	annotations            []string
	ignorePaths            []string
	output                 string
	reproducible           bool
}

func newPushCommand(g *Globals) *cobra.Command {
	f := &pushFlags{}
	sub := &cobra.Command{
		Use:   "artifact oci://REPOSITORY:TAG --path DIR --source URL --revision REV",
		Short: "Push a directory as an OCI artifact in Flux's format (an OCIRepository can pull it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.path == "" || f.source == "" || f.revision == "" {
				return errors.New("--path, --source and --revision are required")
			}
			if f.output != "" && f.output != "json" && f.output != "yaml" {
				return fmt.Errorf("--output %q is not supported: use json or yaml", f.output)
			}
			ref, err := f.rf.ref(args[0])
			if err != nil {
				return err
			}
			o, err := f.rf.options(cmd.Context(), ref.Context().RegistryStr())
			if err != nil {
				return err
			}
			created := time.Now().UTC().Format(time.RFC3339)
			if f.reproducible {
				created = reproducibleCreated
			}
			ann := map[string]string{oci.SourceAnnotation: f.source, oci.RevisionAnnotation: f.revision, oci.CreatedAnnotation: created}
			for _, a := range f.annotations {
				k, v, ok := strings.Cut(a, "=")
				if !ok || k == "" {
					return fmt.Errorf("--annotations wants key=value, got %q", a)
				}
				ann[k] = v
			}
			if f.output == "" {
				fmt.Fprintf(g.Out, "► pushing artifact to %s\n", ref)
			}
			digest, err := oci.PushArtifact(cmd.Context(), ref, f.path, sourceignore.PathsFilter(f.path, f.ignorePaths), ann, o)
			if err != nil {
				return err
			}
			if f.output == "" {
				fmt.Fprintf(g.Out, "✔ artifact successfully pushed to %s@%s\n", ref.Context(), digest)
				return nil
			}
			return printPushed(g, ref, digest, f.output)
		},
	}
	fs := sub.Flags()
	fs.StringVar(&f.path, "path", "", "directory to push")
	fs.StringVar(&f.source, "source", "", "source address recorded in the artifact, e.g. a Git URL")
	fs.StringVar(&f.revision, "revision", "", "source revision recorded in the artifact, e.g. main@sha1:<commit>")
	fs.StringSliceVarP(&f.annotations, "annotations", "a", nil, "extra manifest annotations as key=value")
	fs.StringSliceVar(&f.ignorePaths, "ignore-paths", nil, "paths to leave out of the artifact, in .gitignore format")
	fs.StringVarP(&f.output, "output", "o", "", "print the pushed artifact's URL and digest as json or yaml instead of progress lines")
	fs.BoolVar(&f.reproducible, "reproducible", false, "set the created annotation to "+reproducibleCreated+" so the same content always has the same digest")
	f.rf.bind(sub)
	return newArtifactVerb("push", "Push an OCI artifact", sub)
}

func printPushed(g *Globals, ref name.Reference, digest, format string) error {
	p := pushedArtifact{
		URL:        "oci://" + ref.Context().Digest(digest).String(),
		Repository: ref.Context().String(),
		Digest:     digest,
	}
	if t, ok := ref.(name.Tag); ok {
		p.Tag = t.TagStr()
	}
	var b []byte
	var err error
	if format == "json" {
		b, err = json.MarshalIndent(p, "", "  ")
	} else {
		b, err = yaml.Marshal(p)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(g.Out, strings.TrimSpace(string(b)))
	return nil
}
