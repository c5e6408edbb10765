package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/testenv"
)

// ns is where the controllers run and the seed's objects live.
const ns = "flux-system"

var (
	env    *testenv.Environment
	ctls   *testenv.Controllers
	binDir string
	// stateDir keeps the controllers' logs and storage for this run.
	stateDir string
)

var (
	binDirFlag = flag.String("e2e.bin-dir", "", "directory of prebuilt controller binaries to run instead of building this checkout's (e.g. another implementation of the APIs)")
	crdDirFlag = flag.String("e2e.crd-dir", "", "directory of the CRDs to install instead of manifests/crds")
	extraFlags = controllerFlags{}
)

func init() {
	flag.Var(extraFlags, "e2e.flag", "an extra flag for one controller, as <controller>=<flag> (repeatable), e.g. kustomize-controller=--concurrent=10")
}

// controllerFlags collects -e2e.flag values by controller name.
type controllerFlags map[string][]string

func (f controllerFlags) String() string { return fmt.Sprint(map[string][]string(f)) }

func (f controllerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(value, "-") || !slices.Contains(testenv.ControllerNames, name) {
		return fmt.Errorf("want <controller>=<flag> with one of %v, got %q", testenv.ControllerNames, v)
	}
	f[name] = append(f[name], value)
	return nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		// Listing (make bench asks which packages have a benchmark)
		// needs no binaries and no cluster.
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	var err error
	if stateDir, err = os.MkdirTemp("", "gotk-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(stateDir)
		}
	}()
	binDir = filepath.Join(stateDir, "bin")
	if err := buildBinaries(binDir, *binDirFlag); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := []testenv.Option{testenv.WithWorkloads(), testenv.WithServiceCIDR("10.0.0.0/16")}
	if *crdDirFlag != "" {
		opts = append(opts, testenv.WithCRDDir(*crdDirFlag))
	}
	if env, err = testenv.Start(ctx, opts...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	if err := installWithoutDeployments(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "installing:", err)
		return 1
	}
	if ctls, err = startControllers(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ctls.Stop()
	code := m.Run()
	if code != 0 {
		printLogTails()
		keep = true
		fmt.Fprintf(os.Stderr, "controller logs kept in %s\n", filepath.Join(stateDir, "logs"))
		for _, f := range failures {
			fmt.Fprintf(os.Stderr, "FAILED %s\n", f)
		}
	}
	return code
}

// buildBinaries builds the CLI and the five controllers from this
// checkout into dir, or links the controllers of prebuilt when given.
func buildBinaries(dir, prebuilt string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	for _, name := range append([]string{"cli"}, testenv.ControllerNames...) {
		out := name
		if name == "cli" {
			out = "gotk"
		} else if prebuilt != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			abs, err := filepath.Abs(filepath.Join(prebuilt, name))
			if err != nil {
				return err
			}
			if err := os.Symlink(abs, filepath.Join(dir, name)); err != nil {
				return err
			}
			continue
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, out), "./"+name)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", name, err, b)
		}
	}
	return nil
}

// installWithoutDeployments applies what `gotk install --export` prints,
// minus the controller Deployments and Services: here the controllers
// are local processes (on simulated nodes the Deployments would look
// Available with nothing running).
func installWithoutDeployments(ctx context.Context) error {
	out, err := gotk(ctx, "install", "--export", "--network-policy=false")
	if err != nil {
		return err
	}
	objs, err := decodeManifests(out)
	if err != nil {
		return err
	}
	for _, u := range objs {
		if u.GetKind() == "Deployment" || u.GetKind() == "Service" {
			continue
		}
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("gotk-e2e"), client.ForceOwnership); err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// startControllers runs each controller with its own ServiceAccount's
// token, short retry delays (so recovery after a fault is not minutes of
// backoff) and leader election off (so a restart does not wait for a lease).
func startControllers(ctx context.Context) (*testenv.Controllers, error) {
	kubeconfigs := map[string]string{}
	for _, name := range testenv.ControllerNames {
		path := filepath.Join(stateDir, name+".kubeconfig")
		if err := env.WriteServiceAccountKubeconfig(ctx, ns, name, path); err != nil {
			return nil, fmt.Errorf("kubeconfig of %s: %w", name, err)
		}
		kubeconfigs[name] = path
	}
	common := []string{"--enable-leader-election=false", "--min-retry-delay=250ms", "--max-retry-delay=5s"}
	args := map[string][]string{}
	for _, name := range testenv.ControllerNames {
		args[name] = common
	}
	args["kustomize-controller"] = append(args["kustomize-controller"], "--requeue-dependency=2s")
	args["helm-controller"] = append(args["helm-controller"], "--requeue-dependency=2s")
	for name, flags := range extraFlags {
		args[name] = append(slices.Clone(args[name]), flags...)
	}
	c, err := testenv.StartControllers(ctx, testenv.ControllersOptions{
		BinDir: binDir, StateDir: stateDir, Kubeconfigs: kubeconfigs, Namespace: ns, Args: args,
	})
	if err != nil {
		return nil, err
	}
	if err := c.WaitReady(ctx, 2*time.Minute); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// gotk runs the CLI against the test cluster and returns its output.
func gotk(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "gotk"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("gotk %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// printLogTails shows the end of each controller's log after a failure.
func printLogTails() {
	for _, name := range testenv.ControllerNames {
		data, err := os.ReadFile(filepath.Join(stateDir, "logs", name+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(os.Stderr, "---- %s (last %d lines)\n%s\n", name, len(lines), strings.Join(lines, "\n"))
	}
}
