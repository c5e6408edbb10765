// Package testenv is the test layer over gotk.dev/pkg/localcluster: one
// real control plane per test package (Main as TestMain), a namespace per
// test (NewNamespace), kwok stages that finish Helm test Pods, and peak
// RSS figures for benchmarks.
//
// Only tests import it: it imports package testing, which must stay out of
// the binaries. Everything a shipped command needs (starting the control
// plane, running the controllers as processes) lives in localcluster; the
// names below re-export it so tests keep one import.
package testenv

import (
	"context"

	"gotk.dev/pkg/localcluster"
)

// Environment is a running control plane with test helpers.
type Environment struct {
	*localcluster.Cluster
}

// Option changes how Start runs the control plane.
type Option = localcluster.Option

// Start brings up the control plane and installs the CRDs.
func Start(ctx context.Context, opts ...Option) (*Environment, error) {
	c, err := localcluster.Start(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &Environment{Cluster: c}, nil
}

// WithWorkloads is localcluster.WithWorkloads.
func WithWorkloads() Option { return localcluster.WithWorkloads() }

// WithStages is localcluster.WithStages.
func WithStages(stages ...string) Option { return localcluster.WithStages(stages...) }

// WithStateDir is localcluster.WithStateDir.
func WithStateDir(dir string) Option { return localcluster.WithStateDir(dir) }

// WithCRDDir is localcluster.WithCRDDir.
func WithCRDDir(dir string) Option { return localcluster.WithCRDDir(dir) }

// WithServiceCIDR is localcluster.WithServiceCIDR.
func WithServiceCIDR(cidr string) Option { return localcluster.WithServiceCIDR(cidr) }

// WithAuditLog is localcluster.WithAuditLog.
func WithAuditLog(path string) Option { return localcluster.WithAuditLog(path) }

// WithTokenWebhook is localcluster.WithTokenWebhook.
func WithTokenWebhook(path string) Option { return localcluster.WithTokenWebhook(path) }

// WithLogs is localcluster.WithLogs.
func WithLogs() Option { return localcluster.WithLogs() }

// FakeNodeName is the simulated node kwok manages.
const FakeNodeName = localcluster.FakeNodeName

// ControllerNames are the five controllers, in start order.
var ControllerNames = localcluster.ControllerNames

type (
	// Controllers is localcluster.Controllers.
	Controllers = localcluster.Controllers
	// Controller is localcluster.Controller.
	Controller = localcluster.Controller
	// ControllersOptions is localcluster.ControllersOptions.
	ControllersOptions = localcluster.ControllersOptions
	// Process is localcluster.Process.
	Process = localcluster.Process
)

// StartControllers is localcluster.StartControllers.
func StartControllers(ctx context.Context, o ControllersOptions) (*Controllers, error) {
	return localcluster.StartControllers(ctx, o)
}

// StartProcess is localcluster.StartProcess.
func StartProcess(path, logPath string, env []string, args ...string) (*Process, error) {
	return localcluster.StartProcess(path, logPath, env, args...)
}

// FreePorts is localcluster.FreePorts.
func FreePorts(n int) ([]int, error) { return localcluster.FreePorts(n) }

// RepoRoot is localcluster.RepoRoot.
func RepoRoot() (string, error) { return localcluster.RepoRoot() }

// BinDir is localcluster.BinDir.
func BinDir() (string, error) { return localcluster.BinDir() }

// CRDDir is localcluster.CRDDir.
func CRDDir() (string, error) { return localcluster.CRDDir() }

type (
	// Replicas is localcluster.Replicas.
	Replicas = localcluster.Replicas
	// Replica is localcluster.Replica.
	Replica = localcluster.Replica
	// ReplicasOptions is localcluster.ReplicasOptions.
	ReplicasOptions = localcluster.ReplicasOptions
)

// StartReplicas is localcluster.StartReplicas.
func StartReplicas(ctx context.Context, o ReplicasOptions) (*Replicas, error) {
	return localcluster.StartReplicas(ctx, o)
}
