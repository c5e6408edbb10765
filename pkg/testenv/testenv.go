// Package testenv runs a real local control plane (kube-apiserver + etcd,
// and on request kube-controller-manager, kube-scheduler and kwok's
// simulated node) with gotk's CRDs, for tests and for `gotk dev`.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"gotk.dev/pkg/apis"
)

// Environment is a running control plane.
type Environment struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client uses Scheme (core kinds plus every gotk kind), uncached.
	Client client.Client
	// Scheme knows the core and gotk kinds.
	Scheme *runtime.Scheme
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string
	// Dir holds the environment's files (kubeconfig, logs).
	Dir string

	env       *envtest.Environment
	workloads *workloads
	cleanups  []func()
	// removeDir is set when Dir is a temporary directory of this run.
	removeDir bool
	// restarts counts RestartAPIServer calls.
	restarts int
}

// AddCleanup registers fn to run when the environment stops, before the
// control plane does (e.g. to stop a manager a test package started).
func (e *Environment) AddCleanup(fn func()) { e.cleanups = append(e.cleanups, fn) }

type options struct {
	workloads bool
	dataDir   string
	stateDir  string
	logs      bool
	stages    []string
	crdDir    string
	services  string
}

// Option changes how Start runs the control plane.
type Option func(*options)

// WithWorkloads also runs kube-controller-manager, kube-scheduler and kwok
// with one simulated node, so Deployments roll out and become Available.
func WithWorkloads() Option { return func(o *options) { o.workloads = true } }

// WithStateDir keeps etcd's data and the environment's files in dir so a
// restart finds the same objects (used by `gotk dev`).
func WithStateDir(dir string) Option {
	return func(o *options) { o.stateDir = dir; o.dataDir = filepath.Join(dir, "etcd") }
}

// WithCRDDir installs the CRDs of dir instead of the repository's
// manifests/crds (e.g. to measure another implementation of the APIs).
func WithCRDDir(dir string) Option { return func(o *options) { o.crdDir = dir } }

// WithServiceCIDR sets the API server's service-cluster-ip-range; the
// default /24 holds only 256 Services.
func WithServiceCIDR(cidr string) Option { return func(o *options) { o.services = cidr } }

// WithLogs copies the control plane's output to the test's stdout/stderr.
func WithLogs() Option { return func(o *options) { o.logs = true } }

// Start brings up the control plane and installs the CRDs.
func Start(ctx context.Context, opts ...Option) (*Environment, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(bin, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("control plane binaries missing in %s (run `make controlplane`): %w", bin, err)
	}
	crds := o.crdDir
	if crds == "" {
		if crds, err = CRDDir(); err != nil {
			return nil, err
		}
	}
	scheme, err := apis.NewScheme()
	if err != nil {
		return nil, err
	}

	dir := o.stateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gotk-testenv-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        []string{crds},
		ErrorIfCRDPathMissing:    true,
		Scheme:                   scheme,
		AttachControlPlaneOutput: o.logs,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if o.dataDir != "" {
		env.ControlPlane.Etcd = &envtest.Etcd{DataDir: o.dataDir}
	}
	if o.services != "" {
		env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", o.services)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	e := &Environment{Config: cfg, Scheme: scheme, Dir: dir, env: env, removeDir: o.stateDir == ""}
	if err := e.setup(ctx, bin, o); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	return e, nil
}

func (e *Environment) setup(ctx context.Context, bin string, o options) error {
	var err error
	if e.Client, err = client.New(e.Config, client.Options{Scheme: e.Scheme}); err != nil {
		return err
	}
	if e.Kubeconfig, err = e.writeAdminKubeconfig(); err != nil {
		return err
	}
	if o.workloads {
		if e.workloads, err = startWorkloads(ctx, e, bin, o.stages); err != nil {
			return fmt.Errorf("starting workload components: %w", err)
		}
	}
	return nil
}

func (e *Environment) writeAdminKubeconfig() (string, error) {
	user, err := e.env.AddUser(envtest.User{Name: "gotk-admin", Groups: []string{"system:masters"}}, e.Config)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(e.Dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Stop stops every process and removes temporary files.
func (e *Environment) Stop() error {
	var errs []error
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	if e.workloads != nil {
		e.workloads.stop()
	}
	errs = append(errs, e.env.Stop())
	if e.removeDir {
		errs = append(errs, os.RemoveAll(e.Dir))
	}
	return errors.Join(errs...)
}
