package fleet

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"gotk.dev/pkg/localcluster"
)

// Exit codes of `gotk test`.
const (
	ExitFindings = 1
	ExitFailed   = 2
)

// ExitError carries the exit code of `gotk test`.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// NewCommand returns `gotk test [DIR]` writing its report to out.
func NewCommand(out io.Writer) *cobra.Command {
	var (
		o       Options
		sources []string
		output  string
	)
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Check a fleet repository against a real API server started for the run (exit 0: clean, 1: findings, 2: the check failed)",
		Long: `Discovers the Kustomizations each cluster directory leads to (those whose
source is this repository, the bootstrap GitRepository flux-system, or a
source mapped with --source), builds each as kustomize-controller does and
validates every object by server-side dry-run against a kube-apiserver
started for the run: CRDs of the repository are applied first, and only the
Namespaces the rendered objects declare exist.`,
		Args:          cobra.MaximumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = "."
			if len(args) == 1 {
				o.Dir = args[0]
			}
			if output != "text" && output != "json" && output != "markdown" {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--output %q: want text, json or markdown", output)}
			}
			o.Sources = map[string]string{}
			for _, s := range sources {
				key, dir, err := ParseSource(s)
				if err != nil {
					return &ExitError{Code: ExitFailed, Err: err}
				}
				o.Sources[key] = dir
			}
			if o.ControlPlaneDir == "" {
				o.ControlPlaneDir = defaultControlPlaneDir()
			}
			report, err := Run(cmd.Context(), o)
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			switch output {
			case "json":
				err = report.WriteJSON(out)
			case "markdown":
				err = report.WriteMarkdown(out, MaxMarkdownBytes)
			default:
				report.WriteText(out)
			}
			if err != nil {
				return &ExitError{Code: ExitFailed, Err: err}
			}
			if n := report.Findings(); n > 0 {
				return &ExitError{Code: ExitFindings, Err: fmt.Errorf("%d findings", n)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Paths, "path", nil, "cluster directory of the repository to check (default: every clusters/* directory)")
	f.StringArrayVar(&sources, "source", nil, "map a source outside the repository to a local directory: KIND/NAMESPACE/NAME=DIR (repeatable)")
	f.StringVarP(&output, "output", "o", "text", "report format: text, json, or markdown (a pull-request comment)")
	f.StringVar(&o.Base, "base", "", "Git revision (branch, tag, commit) to diff the rendered objects against, per Kustomization, Secret values masked; it is applied first, so changes of immutable fields are findings")
	f.StringVar(&o.KubeVersion, "kube-version", "", "Kubernetes release of the cluster (e.g. 1.31): API versions it deprecates or removes are findings, and charts render for it")
	f.StringArrayVar(&o.DecryptKeys, "decrypt-key", nil, "file of age identities (or an armored OpenPGP private key, *.asc) decrypting the SOPS files of Kustomizations with spec.decryption, with the gotk-sops program beside gotk or on PATH (repeatable)")
	f.BoolVar(&o.Offline, "offline", false, "do not fetch charts from HelmRepositories or OCIRepositories: their HelmReleases are reported as skipped")
	f.StringVar(&o.ControlPlaneDir, "control-plane-dir", "", "directory holding kube-apiserver and etcd (default $GOTK_CONTROLPLANE_BIN, else bin/ of the gotk source tree, else the gotk binary's directory)")
	return cmd
}

// defaultControlPlaneDir is $GOTK_CONTROLPLANE_BIN, else the bin/ of the
// gotk source tree being worked in, else the gotk binary's directory
// (where a release or image puts kube-apiserver and etcd next to it).
func defaultControlPlaneDir() string {
	if dir := os.Getenv("GOTK_CONTROLPLANE_BIN"); dir != "" {
		return dir
	}
	if dir, err := localcluster.BinDir(); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err == nil {
			return dir
		}
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Dir(exe)
	}
	return ""
}
