package bootstrape2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
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

// startControllers builds the five controllers and runs them as processes
// on the test cluster, with the CRDs, namespace and RBAC installed first,
// until the test ends.
func startControllers(t *testing.T) {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	for _, name := range localcluster.ControllerNames {
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "./"+name)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
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
