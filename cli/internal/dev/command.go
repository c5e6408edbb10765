// Package dev runs gotk locally: a real control plane (kube-apiserver,
// etcd, controller-manager, scheduler and a simulated node) and the five
// controllers as processes wired to each other on free ports.
package dev

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/testenv"
)

// Namespace is where the local controllers run, as in a cluster install.
const Namespace = "flux-system"

type options struct {
	stateDir string
	binDir   string
	timeout  time.Duration
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
	return cmd
}

// session is a running local control plane with its controllers.
type session struct {
	env   *testenv.Environment
	procs *controllers
}

func run(ctx context.Context, o options) error {
	s, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer s.stop()

	fmt.Printf("✔ control plane and controllers are running (state in %s)\n\n", s.env.Dir)
	fmt.Printf("  export KUBECONFIG=%s\n", s.env.Kubeconfig)
	fmt.Printf("  kubectl get gitrepositories,kustomizations -A\n\n")
	s.procs.printEndpoints()
	fmt.Println("\nPress Ctrl-C to stop.")

	select {
	case <-ctx.Done():
		return nil
	case err := <-s.procs.exited:
		return err
	}
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
	env, err := testenv.Start(ctx, testenv.WithStateDir(stateDir), testenv.WithWorkloads())
	if err != nil {
		return nil, err
	}
	s := &session{env: env}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		s.stop()
		return nil, fmt.Errorf("creating namespace %s: %w", Namespace, err)
	}
	if s.procs, err = startControllers(ctx, binDir, stateDir, env.Kubeconfig); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.procs.waitReady(ctx, o.timeout); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *session) stop() {
	if s.procs != nil {
		s.procs.stop()
	}
	fmt.Println("► stopping the control plane")
	_ = s.env.Stop()
}
