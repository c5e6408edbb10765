package bootstrape2e

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gotk.dev/cli/internal/cmd"
	"gotk.dev/cli/internal/install"
	"gotk.dev/pkg/localcluster"
	"gotk.dev/pkg/testenv"
)

const namespace = "flux-system"

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env, testenv.WithWorkloads()) }

// controllerPrograms builds the five controllers once for the package,
// into the test cluster's directory (removed when it stops).
var controllerPrograms = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(env.Dir, "bin")
	return dir, testenv.BuildPrograms(dir, localcluster.ControllerNames...)
})

// startControllers builds the five controllers and runs them as processes
// on the test cluster, with the CRDs, namespace and RBAC installed first,
// until the test ends.
func startControllers(t *testing.T) {
	t.Helper()
	binDir, err := controllerPrograms()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	objs, err := install.Objects(install.Options{Components: install.Components, WatchAllNamespaces: true})
	if err == nil {
		err = install.Apply(ctx, env.Client, objs)
	}
	if err != nil {
		t.Fatalf("installing CRDs, namespace and RBAC: %v", err)
	}
	procs, err := localcluster.StartControllers(ctx, localcluster.ControllersOptions{
		BinDir: binDir, StateDir: t.TempDir(), Kubeconfig: env.Kubeconfig, Namespace: namespace,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(procs.Stop)
	if err := procs.WaitReady(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// gotk runs the CLI against the test cluster and returns its output.
func gotk(args ...string) (string, error) {
	var out bytes.Buffer
	root := cmd.NewRoot(&out)
	root.SetArgs(append([]string{"--kubeconfig", env.Kubeconfig, "--timeout", "3m"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
