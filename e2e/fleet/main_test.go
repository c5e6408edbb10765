// Package fleet syncs a fleet repository laid out like Flux's
// flux2-kustomize-helm-example: a monorepo whose cluster directory
// declares an ArtifactGenerator splitting it into the ExternalArtifacts
// `infrastructure` and `apps`, and Kustomizations that source them in
// order (controllers → configs → apps, with dependsOn and wait), the
// controllers and apps being HelmReleases from a Helm repository and an
// OCI chart. It runs source-, kustomize- and helm-controller as real
// processes against a real control plane, Git server, Helm repository
// and OCI registry.
package fleet

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/testenv"
)

// ns is the controllers' runtime namespace, where the fleet's objects live.
const ns = "flux-system"

var (
	env   *testenv.Environment
	procs []*testenv.Process
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	suite, err := testenv.StartSuite(ctx, "fleet", ns, []string{"source-controller", "kustomize-controller", "helm-controller"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := 1
	defer func() { suite.Stop(code != 0) }()
	env = suite.Env
	if err := startControllers(ctx, suite); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		for _, p := range procs {
			p.Stop(5 * time.Second)
		}
	}()
	code = m.Run()
	return code
}

// startControllers runs source-controller (serving its storage on a free
// port) and kustomize-controller, and waits until both are healthy.
func startControllers(ctx context.Context, s *testenv.Suite) error {
	ports, err := testenv.FreePorts(7)
	if err != nil {
		return err
	}
	storage := fmt.Sprintf("127.0.0.1:%d", ports[6])
	logs := filepath.Join(s.StateDir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	common := []string{"--enable-leader-election=false", "--min-retry-delay=250ms", "--max-retry-delay=5s", "--log-encoding=json"}
	args := map[string][]string{
		"source-controller": {"--storage-path=" + filepath.Join(s.StateDir, "storage"), "--storage-addr=" + storage,
			"--storage-adv-addr=" + storage, "--git-cache-path=" + filepath.Join(s.StateDir, "git-cache")},
		"kustomize-controller": {"--requeue-dependency=2s"},
		"helm-controller":      {"--requeue-dependency=2s"},
	}
	for i, name := range []string{"source-controller", "kustomize-controller", "helm-controller"} {
		flags := append([]string{fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[2*i]),
			fmt.Sprintf("--health-addr=127.0.0.1:%d", ports[2*i+1])}, append(common, args[name]...)...)
		p, err := testenv.StartProcess(filepath.Join(s.BinDir, name), filepath.Join(logs, name+".log"),
			[]string{"KUBECONFIG=" + env.Kubeconfig, "RUNTIME_NAMESPACE=" + ns}, flags...)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		health := fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[2*i+1])
		deadline := time.Now().Add(2 * time.Minute)
		for {
			resp, err := http.Get(health)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-p.Done():
				return fmt.Errorf("%s exited: %v (log: %s)", name, p.Err(), p.LogPath)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not healthy within 2m", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}
