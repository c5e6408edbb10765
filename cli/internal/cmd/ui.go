package cmd

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/ui"
)

func newUICommand(g *Globals) *cobra.Command {
	addr := "127.0.0.1:9080"
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI on loopback with your kubeconfig identity",
		Long: "Serve the web UI on loopback: overview, lists and object pages of every Flux kind,\n" +
			"live, with reconcile/suspend/resume where your identity may patch. Open the printed\n" +
			"URL: its token opens a session. Without cluster-wide list access, the UI shows --namespace.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := g.RESTConfig()
			if err != nil {
				return err
			}
			cfg.Timeout = 0 // watches stay open
			s, err := ui.New(ctx, ui.Options{Config: cfg, Namespace: g.Namespace})
			if err != nil {
				return err
			}
			return s.Serve(ctx, addr, func(url string) {
				fmt.Fprintf(g.Out, "✔ gotk UI: %s\n  (Ctrl-C stops)\n", url)
			})
		},
	}
	cmd.Flags().StringVar(&addr, "address", addr, "loopback address to listen on (port 0 picks a free one)")
	return cmd
}
