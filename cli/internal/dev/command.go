// Package dev runs gotk locally: a real control plane (kube-apiserver,
// etcd, controller-manager, scheduler and a simulated node) and the five
// controllers as processes wired to each other on free ports, both from
// gotk.dev/pkg/localcluster, and a directory served as a Git repository
// by gotk.dev/pkg/localserver. It must not import the test layers
// (pkg/testenv, pkg/testserver): it is linked into the gotk binary.
package dev

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/catalog"
	"gotk.dev/cli/internal/install"
	"gotk.dev/pkg/localcluster"
)

// Namespace is where the local controllers run, as in a cluster install.
const Namespace = "flux-system"

type options struct {
	stateDir string
	binDir   string
	timeout  time.Duration
	repo     string
	path     string
	noDemo   bool
	uiAddr   string
}

// NewCommand returns `gotk dev`.
func NewCommand() *cobra.Command {
	o := options{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local control plane and the gotk controllers until interrupted",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.stateDir, "state-dir", ".run", "directory for etcd data, the kubeconfig, artifacts and logs")
	cmd.Flags().StringVar(&o.binDir, "bin-dir", "", "directory of the controller binaries (default: next to gotk)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for the controllers to be ready")
	cmd.Flags().StringVar(&o.repo, "repo", "", "repository to sync: a local directory (served over Git) or a Git URL (default: the seed guide's app)")
	cmd.Flags().StringVar(&o.path, "path", "./overlays/production", "path in the repository to apply")
	cmd.Flags().BoolVar(&o.noDemo, "no-demo", false, "start the control plane and controllers only")
	cmd.Flags().StringVar(&o.uiAddr, "ui-address", "127.0.0.1:0", "loopback address of the web UI (empty: no UI)")
	return cmd
}

// session is a running local control plane with its controllers.
type session struct {
	env   *localcluster.Cluster
	procs *localcluster.Controllers
	demo  *demo
}

func run(ctx context.Context, o options) error {
	s, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer s.stop()

	fmt.Printf("✔ control plane and controllers are running (state in %s)\n\n", s.env.Dir)
	fmt.Printf("  export KUBECONFIG=%s\n", s.env.Kubeconfig)
	fmt.Printf("  gotk get all -A\n\n")
	printEndpoints(s.procs)
	if o.uiAddr != "" {
		url, err := startUI(ctx, s.env.Config, o.uiAddr)
		if err != nil {
			return err
		}
		fmt.Printf("\n  web UI:     %s\n", url)
	}
	if s.demo != nil {
		fmt.Printf("\n  repository: %s  (git clone it, change replicas, git push)\n", s.demo.repoURL)
		fmt.Printf("  webhook:    curl -X POST %s\n", s.demo.hookURL)
	}
	fmt.Println("\nPress Ctrl-C to stop.")
	return s.watch(ctx)
}

// watch prints the sync status whenever it changes, until interrupted.
func (s *session) watch(ctx context.Context) error {
	last := ""
	for {
		if table := s.statusTable(ctx); table != last {
			fmt.Printf("\n%s  %s", time.Now().Format(time.TimeOnly), strings.ReplaceAll(table, "\n", "\n  "))
			last = table
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.procs.Exited:
			return err
		case <-time.After(time.Second):
		}
	}
}

func (s *session) statusTable(ctx context.Context) string {
	var buf bytes.Buffer
	for _, name := range []string{"source git", "kustomization", "receiver"} {
		k, _ := catalog.Lookup(name)
		objs, err := catalog.List(ctx, s.env.Client, k, Namespace, false, "")
		if err != nil {
			fmt.Fprintf(&buf, "%s: %v\n", name, err)
			continue
		}
		catalog.WriteTable(&buf, k, objs, catalog.TableOptions{PrefixKind: true})
	}
	return buf.String()
}

// start brings up the control plane and the controllers and waits until
// every controller reports ready.
func start(ctx context.Context, o options) (*session, error) {
	stateDir, err := filepath.Abs(o.stateDir)
	if err != nil {
		return nil, err
	}
	binDir := o.binDir
	if binDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		binDir = filepath.Dir(exe)
	}

	fmt.Println("► starting the local control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok)")
	env, err := localcluster.Start(ctx, localcluster.WithStateDir(stateDir), localcluster.WithWorkloads())
	if err != nil {
		return nil, err
	}
	s := &session{env: env}
	// The controllers run here as processes: install everything but their Deployments.
	objs, err := install.Objects(install.Options{Components: install.Components, WatchAllNamespaces: true})
	if err == nil {
		err = install.Apply(ctx, env.Client, objs)
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("installing CRDs, namespace and RBAC: %w", err)
	}
	if s.procs, err = startControllers(ctx, binDir, stateDir, env.Kubeconfig); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.procs.WaitReady(ctx, o.timeout); err != nil {
		s.stop()
		return nil, err
	}
	fmt.Println("✔ controllers are ready")
	if !o.noDemo {
		if s.demo, err = startDemo(ctx, env.Client, stateDir, o.repo, o.path, s.procs.ReceiverPort); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

func (s *session) stop() {
	if s.demo != nil {
		s.demo.close()
	}
	if s.procs != nil {
		s.procs.Stop()
	}
	fmt.Println("► stopping the control plane")
	_ = s.env.Stop()
}
