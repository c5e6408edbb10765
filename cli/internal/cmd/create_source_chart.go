package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

func newCreateSourceChart(g *Globals, cf *createFlags) *cobra.Command {
	var source, chart, version, strategy string
	cmd := &cobra.Command{
		Use:   "chart NAME --source KIND/NAME --chart CHART",
		Short: "Create a HelmChart from a HelmRepository, GitRepository or Bucket",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" || chart == "" {
				return errors.New("--source and --chart are required")
			}
			kind, name, ns, err := parseRef(source, "--source")
			if err != nil {
				return err
			}
			if ns != "" {
				return fmt.Errorf("--source %q: a HelmChart's source is in its own namespace", source)
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &sourcev1.HelmChart{ObjectMeta: om, Spec: sourcev1.HelmChartSpec{
				Chart: chart, Version: version, Interval: cf.duration(), ReconcileStrategy: strategy,
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: kind, Name: name}}}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "source of the chart, e.g. HelmRepository/podinfo")
	f.StringVar(&chart, "chart", "", "chart name, or path in a GitRepository or Bucket")
	f.StringVar(&version, "chart-version", "", "chart version or semver range (HelmRepository only)")
	f.StringVar(&strategy, "reconcile-strategy", "ChartVersion", "when to rebuild a chart from Git or a Bucket: ChartVersion or Revision")
	return cmd
}
