// Package sharding runs controllers sharded as Flux documents it, as real
// processes on one API server: per controller a main instance watching
// what carries no sharding.fluxcd.io/key label and shard instances
// watching their key, each electing its own leader. Every object must be
// reconciled by exactly one of them, while references (sources, dependsOn
// targets, HelmCharts) cross shards.
package sharding

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/testenv"
)

// ns is the controllers' runtime namespace, where their Leases live.
const ns = "flux-system"

// mainShard names the instance that watches objects without a shard key.
const mainShard = ""

// leaseFlags: leader election on, with short leases as in a test nothing
// waits for a takeover.
var leaseFlags = []string{"--enable-leader-election", "--leader-election-lease-duration=4s",
	"--leader-election-renew-deadline=3s", "--leader-election-retry-period=1s"}

// layout is which shards each controller runs, mainShard included.
var layout = []struct {
	controller string
	shards     []string
}{
	{"source-controller", []string{mainShard, "shard1"}},
	{"kustomize-controller", []string{mainShard, "shard1", "shard2"}},
	{"helm-controller", []string{mainShard, "shard1"}},
}

var (
	env      *testenv.Environment
	binDir   string
	stateDir string
	// instances are the running controller instances, by instanceName.
	instances = map[string]*testenv.Replicas{}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	var names []string
	for _, l := range layout {
		names = append(names, l.controller)
	}
	suite, err := testenv.StartSuite(ctx, "sharding", ns, names)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := 1
	defer func() { suite.Stop(code != 0) }()
	env, binDir, stateDir = suite.Env, suite.BinDir, suite.StateDir
	defer func() {
		for _, r := range instances {
			r.Stop()
		}
	}()
	for _, l := range layout {
		for _, shard := range l.shards {
			r, err := startInstance(ctx, l.controller, shard)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			instances[instanceName(l.controller, shard)] = r
		}
	}
	code = m.Run() // a failed run keeps <instance>/logs under the state directory
	return code
}

// instanceName is the Deployment name `gotk install --shards` gives an
// instance: <controller> for the main one, <controller>-<shard> otherwise.
func instanceName(controller, shard string) string {
	if shard == mainShard {
		return controller
	}
	return controller + "-" + shard
}

// selector is an instance's --watch-label-selector.
func selector(shard string) string {
	if shard == mainShard {
		return "!" + apis.ShardKeyLabel
	}
	return apis.ShardKeyLabel + "=" + shard
}

// startInstance runs one replica of a controller instance and waits until
// it answers /healthz.
func startInstance(ctx context.Context, controller, shard string) (*testenv.Replicas, error) {
	args := append([]string{"--min-retry-delay=250ms", "--max-retry-delay=5s", "--watch-label-selector=" + selector(shard)}, leaseFlags...)
	if controller != "source-controller" {
		args = append(args, "--requeue-dependency=1s")
	}
	dir := filepath.Join(stateDir, instanceName(controller, shard))
	r, err := testenv.StartReplicas(ctx, testenv.ReplicasOptions{Name: controller, Count: 1, BinDir: binDir, StateDir: dir,
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
