// Package cmd holds the gotk commands, one file per command.
package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/dev"
	"gotk.dev/cli/internal/fleet"
	"gotk.dev/cli/internal/kubeflags"
	"gotk.dev/cli/internal/uicmd"
	"gotk.dev/pkg/apis"
)

// Globals are the flags every command shares, and where output goes.
type Globals struct {
	kubeflags.Flags
	Out io.Writer
}

func (g *Globals) scheme() (*runtime.Scheme, error) { return apis.NewScheme() }

// Client returns an uncached client that knows every gotk kind.
func (g *Globals) Client() (client.Client, error) {
	cfg, err := g.RESTConfig()
	if err != nil {
		return nil, err
	}
	scheme, err := apis.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// NewRoot returns the gotk command tree writing to out.
func NewRoot(out io.Writer) *cobra.Command {
	g := &Globals{Out: out}
	root := &cobra.Command{
		Use:           "gotk",
		Short:         "gotk keeps a cluster equal to what Git declares",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	pf := root.PersistentFlags()
	g.AddFlags(pf)
	root.AddCommand(
		dev.NewCommand(),
		newVersionCommand(g),
		newInstallCommand(g),
		newUninstallCommand(g),
		newCheckCommand(g),
		newGetCommand(g),
		newReconcileCommand(g),
		newSuspendCommand(g, true),
		newSuspendCommand(g, false),
		newEventsCommand(g),
		newExportCommand(g),
		newTreeCommand(g),
		newTraceCommand(g),
		newCreateCommand(g),
		newBootstrapCommand(g),
		newLogsCommand(g),
		newBuildCommand(g),
		newDiffCommand(g),
		fleet.NewCommand(out),
		uicmd.New(&g.Flags, out, true),
		newDeleteCommand(g),
		newEnvsubstCommand(g),
		newStatsCommand(g),
		newPushCommand(g),
		newPullCommand(g),
		newTagCommand(g),
		newListCommand(g),
		newDebugCommand(g),
		newMigrateCommand(g),
	)
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute(args []string) int {
	root := NewRoot(os.Stdout)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "✗", err)
		var exit *ExitCodeError
		if errors.As(err, &exit) {
			return exit.Code
		}
		var testExit *fleet.ExitError
		if errors.As(err, &testExit) {
			return testExit.Code
		}
		// diff reserves 1 for "changes"; other failures of it are >1.
		if cmd, _, _ := root.Find(args); cmd != nil && (cmd.Name() == "test" || cmd.Parent() != nil && cmd.Parent().Name() == "diff") {
			return 2
		}
		return 1
	}
	return 0
}
