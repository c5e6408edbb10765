package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Suite is what an end-to-end package that runs the controllers as
// processes sets up once in its TestMain: a state directory for their
// logs and storage, the programs built into its bin/, and a control
// plane with the controllers' namespace.
type Suite struct {
	// Env is the running control plane.
	Env *Environment
	// StateDir holds bin/ and whatever the package starts (logs, storage).
	StateDir string
	// BinDir holds the built programs.
	BinDir string
}

// StartSuite makes a state directory named after the package, builds
// programs (repository directories such as "source-controller") into it,
// starts a control plane with opts and creates namespace.
func StartSuite(ctx context.Context, name, namespace string, programs []string, opts ...Option) (*Suite, error) {
	dir, err := os.MkdirTemp("", "gotk-"+name+"-")
	if err != nil {
		return nil, err
	}
	s := &Suite{StateDir: dir, BinDir: filepath.Join(dir, "bin")}
	if err := BuildPrograms(s.BinDir, programs...); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if s.Env, err = Start(ctx, opts...); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		s.Stop(false)
		return nil, err
	}
	return s, nil
}

// Stop stops the control plane and removes the state directory, unless
// keep is set (a failed run): then it says where the logs are.
func (s *Suite) Stop(keep bool) {
	if err := s.Env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the control plane: %v\n", err)
	}
	if keep {
		fmt.Fprintf(os.Stderr, "controller logs kept under %s\n", s.StateDir)
		return
	}
	os.RemoveAll(s.StateDir)
}
