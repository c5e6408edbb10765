package containers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestInstallPodsRun checks what a kubelet would of each controller's Pod:
// the container runs as the non-root user of the image, both probes
// answer, and every declared port is bound.
func TestInstallPodsRun(t *testing.T) {
	ctx := context.Background()
	for _, p := range pods {
		t.Run(p.name(), func(t *testing.T) {
			state, err := podman(ctx, "inspect", "--format", "{{.State.Status}} {{.Config.User}}", p.container)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(state); got != "running 65532:65532" {
				t.Errorf("state and user %q, want running as 65532:65532", got)
			}
			for what, probe := range map[string]*corev1.Probe{"liveness": p.spec().LivenessProbe, "readiness": p.spec().ReadinessProbe} {
				u, err := p.probeURL(probe)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.Get(u)
				if err != nil {
					t.Fatalf("%s probe: %v", what, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s probe %s: %s", what, u, resp.Status)
				}
			}
			for _, cp := range p.spec().Ports {
				if err := listening(fmt.Sprintf("%s:%d", p.addr, cp.ContainerPort)); err != nil {
					t.Errorf("port %s: %v", cp.Name, err)
				}
			}
		})
	}
}

// flagName is a long flag in a pflag usage listing.
var flagName = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-zA-Z0-9-]+)`)

// TestInstallArgsAreFlags checks that every arg of every Deployment is a
// flag its image's binary lists in --help, so a renamed or removed flag
// fails here and not in a user's cluster.
func TestInstallArgsAreFlags(t *testing.T) {
	for _, p := range pods {
		t.Run(p.name(), func(t *testing.T) {
			args := append(append([]string{"run", "--rm", "--pull", "never"}, podmanBase...), p.spec().Image, "--help")
			out, _ := exec.Command("podman", args...).CombinedOutput() // --help exits 0 or 2 by library; the listing is what counts
			known := map[string]bool{}
			for _, m := range flagName.FindAllStringSubmatch(string(out), -1) {
				known[m[1]] = true
			}
			if len(known) < 5 {
				t.Fatalf("--help listed %d flags:\n%s", len(known), out)
			}
			for _, a := range p.spec().Args {
				name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
				if !strings.HasPrefix(a, "--") || !known[name] {
					t.Errorf("arg %q is not a flag of %s", a, p.spec().Image)
				}
			}
		})
	}
}

// hasMetrics checks the pod's /metrics has the reconcile duration and
// condition series of every kind, and controller-runtime's own.
func (p *pod) hasMetrics(kinds []string) error {
	addr, err := p.port("http-prom")
	if err != nil {
		return err
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	text := string(body)
	var missing []string
	for _, kind := range kinds {
		for _, metric := range []string{"gotk_reconcile_duration_seconds_count", "gotk_reconcile_condition"} {
			if !strings.Contains(text, metric+"{") || !regexp.MustCompile(metric+`\{[^}]*kind="`+kind+`"`).MatchString(text) {
				missing = append(missing, fmt.Sprintf("%s{kind=%q}", metric, kind))
			}
		}
	}
	if !strings.Contains(text, "controller_runtime_reconcile_total{") {
		missing = append(missing, "controller_runtime_reconcile_total")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s /metrics lacks %s", p.name(), strings.Join(missing, ", "))
	}
	return nil
}
