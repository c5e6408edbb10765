// Package localcluster runs a real Kubernetes control plane on this
// machine, and gotk's controllers against it, for the commands that ship
// in the gotk binary (`gotk dev`, and the ones that reuse it) and, through
// gotk.dev/pkg/testenv, for tests.
//
// Start runs kube-apiserver and etcd from the binaries `make controlplane`
// links into bin/ (see BinDir), installs the CRDs and writes an admin
// kubeconfig; WithWorkloads adds kube-controller-manager, kube-scheduler
// and kwok with one simulated node so Deployments roll out without a
// container runtime. WithStateDir keeps etcd's data so a later Start finds
// the same objects. StartControllers runs the five controller binaries as
// local processes on free loopback ports, wired to each other as in a
// cluster (events to notification-controller, artifacts from
// source-controller's storage address).
//
// Process management of the API server and etcd is controller-runtime's
// envtest, which does not import package testing; this package must not
// either (a test in the cli module checks the gotk binary), so helpers
// that take a testing.TB live in testenv.
package localcluster

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

// Cluster is a running control plane.
type Cluster struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client uses Scheme (core kinds plus every gotk kind), uncached.
	Client client.Client
	// Scheme knows the core and gotk kinds.
	Scheme *runtime.Scheme
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string
	// Dir holds the cluster's files (kubeconfig, logs, etcd data with WithStateDir).
	Dir string

	env       *envtest.Environment
	workloads *workloads
	cleanups  []func()
	// removeDir is set when Dir is a temporary directory of this run.
	removeDir bool
	// restarts counts RestartAPIServer calls.
	restarts int
}

// AddCleanup registers fn to run when the cluster stops, before the
// control plane does (e.g. to stop a manager started against it).
func (c *Cluster) AddCleanup(fn func()) { c.cleanups = append(c.cleanups, fn) }

type options struct {
	workloads bool
	dataDir   string
	stateDir  string
	logs      bool
	stages    []string
	crdDir    string
	noCRDs    bool
	binDir    string
	services  string
	auditLog  string
	webhook   string
}

// Option changes how Start runs the control plane.
type Option func(*options)

// WithWorkloads also runs kube-controller-manager, kube-scheduler and kwok
// with one simulated node, so Deployments roll out and become Available.
func WithWorkloads() Option { return func(o *options) { o.workloads = true } }

// WithStages adds kwok Stage documents to the default ones (implies WithWorkloads).
func WithStages(stages ...string) Option {
	return func(o *options) {
		o.workloads = true
		o.stages = append(o.stages, stages...)
	}
}

// WithStateDir keeps etcd's data and the cluster's files in dir so a
// restart finds the same objects (used by `gotk dev`).
func WithStateDir(dir string) Option {
	return func(o *options) { o.stateDir = dir; o.dataDir = filepath.Join(dir, "etcd") }
}

// WithCRDDir installs the CRDs of dir instead of the repository's
// manifests/crds (e.g. to measure another implementation of the APIs).
func WithCRDDir(dir string) Option { return func(o *options) { o.crdDir = dir } }

// WithoutCRDs installs no CRD: the caller installs its own (e.g. from
// the CRDs embedded in the gotk binary, outside the repository).
func WithoutCRDs() Option { return func(o *options) { o.noCRDs = true } }

// WithBinDir runs the control plane binaries of dir instead of BinDir's.
func WithBinDir(dir string) Option { return func(o *options) { o.binDir = dir } }

// WithServiceCIDR sets the API server's service-cluster-ip-range; the
// default /24 holds only 256 Services.
func WithServiceCIDR(cidr string) Option { return func(o *options) { o.services = cidr } }

// WithAuditLog makes the API server write a JSON audit event for every
// write request (create, update, patch, delete) to path once it
// completed, so a test can count what a component wrote.
func WithAuditLog(path string) Option { return func(o *options) { o.auditLog = path } }

// WithTokenWebhook makes the API server also authenticate bearer tokens
// through the webhook of the kubeconfig at path (a cloud's token
// authenticator, e.g. EKS's), without caching its answers.
func WithTokenWebhook(path string) Option { return func(o *options) { o.webhook = path } }

// auditPolicy records write requests at the Metadata level.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// WithLogs copies the control plane's output to this process's stdout and stderr.
func WithLogs() Option { return func(o *options) { o.logs = true } }

// Start brings up the control plane and installs the CRDs.
func Start(ctx context.Context, opts ...Option) (*Cluster, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := o.binDir, error(nil)
	if bin == "" {
		if bin, err = BinDir(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("control plane binaries missing in %s (run `make controlplane`): %w", bin, err)
	}
	var crdDirs []string
	if !o.noCRDs {
		crds := o.crdDir
		if crds == "" {
			if crds, err = CRDDir(); err != nil {
				return nil, err
			}
		}
		crdDirs = []string{crds}
	}
	scheme, err := apis.NewScheme()
	if err != nil {
		return nil, err
	}

	dir := o.stateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gotk-cluster-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        crdDirs,
		ErrorIfCRDPathMissing:    !o.noCRDs,
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
	if o.auditLog != "" {
		policy := filepath.Join(dir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
			return nil, err
		}
		args := env.ControlPlane.GetAPIServer().Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", o.auditLog)
		args.Set("audit-log-format", "json")
		args.Set("audit-log-mode", "blocking")
	}
	if o.webhook != "" {
		args := env.ControlPlane.GetAPIServer().Configure()
		args.Set("authentication-token-webhook-config-file", o.webhook)
		args.Set("authentication-token-webhook-version", "v1")
		args.Set("authentication-token-webhook-cache-ttl", "0s")
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	c := &Cluster{Config: cfg, Scheme: scheme, Dir: dir, env: env, removeDir: o.stateDir == ""}
	if err := c.setup(ctx, bin, o); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

func (c *Cluster) setup(ctx context.Context, bin string, o options) error {
	var err error
	if c.Client, err = client.New(c.Config, client.Options{Scheme: c.Scheme}); err != nil {
		return err
	}
	if c.Kubeconfig, err = c.writeAdminKubeconfig(); err != nil {
		return err
	}
	if o.workloads {
		if c.workloads, err = startWorkloads(ctx, c, bin, o.stages); err != nil {
			return fmt.Errorf("starting workload components: %w", err)
		}
	}
	return nil
}

func (c *Cluster) writeAdminKubeconfig() (string, error) {
	user, err := c.env.AddUser(envtest.User{Name: "gotk-admin", Groups: []string{"system:masters"}}, c.Config)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Stop stops every process and removes temporary files.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
	if c.workloads != nil {
		c.workloads.stop()
	}
	errs = append(errs, c.env.Stop())
	if c.removeDir {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}
