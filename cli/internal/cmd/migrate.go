package cmd

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"

	"gotk.dev/cli/internal/migrate"
)

func newMigrateCommand(g *Globals) *cobra.Command {
	var (
		path, version string
		exts          []string
		dryRun        bool
	)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move Flux objects to the API versions gotk serves: in the cluster (default) or in YAML files (-f)",
		Long: `Cluster mode (default) rewrites every object of every Flux CRD in the
version gotk stores it in, then sets the CRD's status.storedVersions to that
version alone. File mode (-f) rewrites the apiVersion of Flux objects in the
YAML files at a path, keeping comments and layout.`,
		Example: `  gotk migrate
  gotk migrate -f .
  gotk migrate -f clusters/prod --version 2.6 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			targets := migrate.Latest()
			if version != "" {
				if path == "" {
					return errors.New("--version applies to files only (-f): the cluster is migrated to the versions gotk serves")
				}
				var err error
				if targets, err = migrate.ForFluxVersion(version); err != nil {
					return err
				}
			}
			if path != "" {
				for i, e := range exts {
					if !strings.HasPrefix(e, ".") {
						exts[i] = "." + e
					}
				}
				changes, err := migrate.Path(path, exts, targets, dryRun)
				if err != nil {
					return err
				}
				for _, c := range changes {
					fmt.Fprintf(g.Out, "► %s\n", c)
				}
				verb := "migrated"
				if dryRun {
					verb = "would migrate (dry run)"
				}
				fmt.Fprintf(g.Out, "✔ %s %d objects\n", verb, len(changes))
				return nil
			}
			if dryRun {
				return errors.New("--dry-run applies to files only (-f)")
			}
			c, err := g.Client()
			if err != nil {
				return err
			}
			cfg, err := g.RESTConfig()
			if err != nil {
				return err
			}
			d, err := discovery.NewDiscoveryClientForConfig(cfg)
			if err != nil {
				return err
			}
			results, err := migrate.Cluster(cmd.Context(), c, d, targets)
			for _, r := range results {
				fmt.Fprintf(g.Out, "✔ %s: %d objects in %s (%d rewritten), storedVersions %v -> [%s]\n",
					r.CRD, r.Objects, r.Version, r.Rewritten, r.StoredVersions, r.Version)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&path, "path", "f", "", "file or directory of YAML manifests to migrate instead of the cluster")
	fs.StringVarP(&version, "version", "v", "", "Flux release whose latest API versions the files move to, e.g. 2.6 (default: the versions gotk serves)")
	fs.StringSliceVarP(&exts, "extensions", "e", slices.Clone(migrate.DefaultExtensions), "file name extensions read with -f")
	fs.BoolVar(&dryRun, "dry-run", false, "print what -f would change without writing")
	return cmd
}
