// Package leaderelection runs each controller as two real processes with
// leader election on, against a real control plane: one replica leads,
// the other stands by, and takes over when the leader is SIGKILLed.
package leaderelection

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/testenv"
)

// ns is the controllers' runtime namespace, where their Leases live.
const ns = "flux-system"

// Short leases so that a takeover takes seconds, not Flux's default
// 35s; the renew deadline and retry period keep the same proportions.
var leaseFlags = []string{"--enable-leader-election", "--leader-election-lease-duration=4s",
	"--leader-election-renew-deadline=3s", "--leader-election-retry-period=1s"}

// Sharding as Flux documents it: the main instance watches what carries
// no shard key, a shard instance what carries its key.
const (
	mainSelector  = "!sharding.fluxcd.io/key"
	shardSelector = "sharding.fluxcd.io/key=shard1"
	shardLabel    = "sharding.fluxcd.io/key"
)

var (
	env      *testenv.Environment
	binDir   string
	stateDir string
	// sources is a source-controller main instance (one replica, leader
	// election on) serving the sources of the consumers' tests.
	sources *testenv.Replicas
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	suite, err := testenv.StartSuite(ctx, "leaderelection", ns, testenv.ControllerNames)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := 1
	defer func() { suite.Stop(code != 0) }()
	env, binDir, stateDir = suite.Env, suite.BinDir, suite.StateDir
	if sources, err = startReplicas(ctx, "source-controller", 1, mainSelector); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sources.Stop()
	code = m.Run()
	return code
}

// startReplicas starts n replicas of a controller with leader election
// (and the watch label selector, when given) and waits until each
// answers /healthz.
func startReplicas(ctx context.Context, name string, n int, selector string) (*testenv.Replicas, error) {
	args := append([]string{"--min-retry-delay=250ms", "--max-retry-delay=5s"}, leaseFlags...)
	if selector != "" {
		args = append(args, "--watch-label-selector="+selector)
	}
	switch name {
	case "kustomize-controller", "helm-controller":
		args = append(args, "--requeue-dependency=2s")
	}
	r, err := testenv.StartReplicas(ctx, testenv.ReplicasOptions{Name: name, Count: n, BinDir: binDir, StateDir: stateDir,
		Kubeconfig: env.Kubeconfig, Namespace: ns, Args: args})
	if err != nil {
		return nil, err
	}
	if err := r.WaitHealthy(ctx, time.Minute); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}
