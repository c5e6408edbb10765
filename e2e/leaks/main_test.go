// Package leaks checks the safety rule that secrets never appear in logs,
// events or status: it gives the five controllers (real processes, at
// --log-level=debug) every kind of credential, on paths that succeed and
// paths that fail, then greps every log line, Kubernetes Event, forwarded
// notification and object status for each credential.
package leaks

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

// ns is the controllers' runtime namespace; every object lives there.
const ns = "flux-system"

var (
	env      *testenv.Environment
	ctls     *testenv.Controllers
	stateDir string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	suite, err := testenv.StartSuite(ctx, "leaks", ns, testenv.ControllerNames)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := 1
	defer func() { suite.Stop(code != 0) }()
	env, stateDir = suite.Env, suite.StateDir
	common := []string{"--log-level=debug", "--enable-leader-election=false", "--min-retry-delay=250ms", "--max-retry-delay=5s"}
	args := map[string][]string{}
	for _, name := range testenv.ControllerNames {
		args[name] = common
	}
	args["kustomize-controller"] = append(args["kustomize-controller"], "--requeue-dependency=2s")
	args["helm-controller"] = append(args["helm-controller"], "--requeue-dependency=2s")
	if ctls, err = testenv.StartControllers(ctx, testenv.ControllersOptions{
		BinDir: suite.BinDir, StateDir: stateDir, Kubeconfig: env.Kubeconfig, Namespace: ns, Args: args,
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ctls.Stop()
	if err := ctls.WaitReady(ctx, 2*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code = m.Run()
	return code
}
