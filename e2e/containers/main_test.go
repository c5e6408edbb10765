// Package containers runs the five controllers from their images, as the
// Deployments of `gotk install --export` declare them, against a real
// control plane: the images `make images` builds, loaded into podman.
package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/imagebuild"
	"gotk.dev/pkg/testenv"
)

// ns is where the install puts the controllers.
const ns = "flux-system"

var (
	env *testenv.Environment
	// pods are the controllers' Deployments running as containers.
	pods []*pod
	// install is what `gotk install --export` printed, decoded.
	install []*unstructured.Unstructured
	// gotkImage is the gotk CLI's image reference.
	gotkImage string
	// imagesBuilt is how long building the amd64 images took.
	imagesBuilt time.Duration
	// suiteStart is when the image build began.
	suiteStart time.Time
	// serviceAddrs maps a Service's name to the address it is served on.
	serviceAddrs = map[string]string{}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	if err := checkRuntime(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "gotk-containers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := loadImages(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		return 1
	}
	if env, err = testenv.Start(ctx, testenv.WithWorkloads()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	if err := applyInstall(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "install:", err)
		return 1
	}
	proxy, err := startPods(ctx, dir)
	if proxy != nil {
		defer proxy.Close()
	}
	defer stopPods()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		printLogs(ctx)
		return 1
	}
	code := m.Run()
	if code != 0 {
		printLogs(ctx)
	}
	return code
}

// checkRuntime says how to get podman when it is missing: `make test`
// installs it.
func checkRuntime() error {
	if _, err := exec.LookPath("podman"); err != nil {
		return errors.New("podman is not installed: run `make test` (or `make container-runtime`), which installs podman and runc")
	}
	if os.Geteuid() != 0 {
		return errors.New("these tests run containers as root (podman with runc) and bind Service ports below 1024: run them as root")
	}
	return nil
}

// loadImages builds the amd64 images of this checkout and loads their
// tarball into podman, as `podman load` would a user's.
func loadImages(ctx context.Context, dir string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	start := time.Now()
	suiteStart = start
	res, err := imagebuild.Build(ctx, imagebuild.Options{Root: root, Platforms: []string{"linux/amd64"}, OutDir: filepath.Join(dir, "images")})
	if err != nil {
		return err
	}
	imagesBuilt = time.Since(start)
	for _, img := range res.Images {
		if img.Component.Name == "gotk" {
			gotkImage = img.Ref.String()
		}
	}
	if gotkImage == "" {
		return errors.New("no gotk image was built")
	}
	_, err = podman(ctx, "load", "--input", res.Tarballs["linux/amd64"])
	return err
}

// applyInstall applies everything the gotk image's `install --export`
// prints: CRDs, RBAC, ServiceAccounts, Deployments, Services, policies.
func applyInstall(ctx context.Context) error {
	out, err := podman(ctx, append(append([]string{"run", "--rm", "--pull", "never"}, podmanBase...), gotkImage, "install", "--export")...)
	if err != nil {
		return err
	}
	if install, err = testenv.DecodeManifests(out); err != nil {
		return err
	}
	for _, u := range install {
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("gotk-e2e"), client.ForceOwnership); err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// installed returns the install's objects of one kind, typed.
func installed[T any, P interface {
	*T
	client.Object
}](kind string) ([]P, error) {
	var out []P
	for _, u := range install {
		if u.GetKind() != kind {
			continue
		}
		var obj P = new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// startPods runs every controller Deployment as a container on its own
// loopback address, with the Services in front of them.
func startPods(ctx context.Context, dir string) (*serviceProxy, error) {
	deployments, err := installed[appsv1.Deployment](appsv1.SchemeGroupVersion.WithKind("Deployment").Kind)
	if err != nil {
		return nil, err
	}
	services, err := installed[corev1.Service]("Service")
	if err != nil {
		return nil, err
	}
	for i, d := range deployments {
		p := &pod{deployment: d, addr: fmt.Sprintf("127.0.0.%d", 11+i), dir: filepath.Join(dir, "pods", d.Name), container: "gotk-e2e-" + d.Name}
		token, err := serviceAccountToken(ctx, d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
		if err != nil {
			return nil, err
		}
		if err := p.writeServiceAccount(token, env.Config.CAData); err != nil {
			return nil, err
		}
		pods = append(pods, p)
	}
	hosts := map[string]string{}
	var addrs []string
	for i, svc := range services {
		addr := fmt.Sprintf("127.0.1.%d", 11+i)
		addrs = append(addrs, addr)
		serviceAddrs[svc.Name] = addr
		for _, h := range serviceHosts(svc) {
			hosts[h] = addr
		}
	}
	proxy, err := startServiceProxy(services, addrs, pods)
	if err != nil {
		return nil, err
	}
	api, err := url.Parse(env.Config.Host)
	if err != nil {
		return proxy, err
	}
	for _, p := range pods {
		_, _ = podman(ctx, "rm", "--force", "--ignore", p.container) // a killed earlier run's
		args, err := p.runArgs(api.Hostname(), api.Port(), hosts)
		if err != nil {
			return proxy, err
		}
		if _, err := podman(ctx, args...); err != nil {
			return proxy, err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, p := range pods {
		if err := p.waitProbe(ctx, deadline, p.spec().ReadinessProbe); err != nil {
			return proxy, err
		}
	}
	return proxy, nil
}

// serviceAccountToken asks the TokenRequest API for a token of the
// account, as a kubelet does for a projected volume.
func serviceAccountToken(ctx context.Context, namespace, name string) (string, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := env.Client.SubResource("token").Create(ctx, account, req); err != nil {
		return "", fmt.Errorf("token of ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return req.Status.Token, nil
}

// probeURL is the address of an HTTP probe of the pod.
func (p *pod) probeURL(probe *corev1.Probe) (string, error) {
	if probe == nil || probe.HTTPGet == nil {
		return "", fmt.Errorf("%s: no HTTP probe", p.name())
	}
	addr := fmt.Sprintf("%s:%d", p.addr, probe.HTTPGet.Port.IntVal)
	if probe.HTTPGet.Port.StrVal != "" {
		var err error
		if addr, err = p.port(probe.HTTPGet.Port.StrVal); err != nil {
			return "", err
		}
	}
	return "http://" + addr + probe.HTTPGet.Path, nil
}

// waitProbe polls an HTTP probe until it answers 2xx, failing early when
// the container has exited.
func (p *pod) waitProbe(ctx context.Context, deadline time.Time, probe *corev1.Probe) error {
	u, err := p.probeURL(probe)
	if err != nil {
		return err
	}
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return nil
			}
			err = fmt.Errorf("%s: %s", u, resp.Status)
		}
		last = err
		if state, _ := podman(ctx, "inspect", "--format", "{{.State.Status}}", p.container); strings.TrimSpace(state) == "exited" {
			return fmt.Errorf("%s exited before %s answered", p.container, u)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: probe %s never answered 2xx: %v", p.container, u, last)
}

// listening reports whether something accepts connections on addr.
func listening(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// printLogs shows the end of each container's log after a failure.
func printLogs(ctx context.Context) {
	for _, p := range pods {
		// podman logs replays the container's stderr on its own stderr.
		out, err := exec.CommandContext(ctx, "podman", "logs", "--tail", "25", p.container).CombinedOutput()
		if err != nil {
			out = append(out, err.Error()...)
		}
		fmt.Fprintf(os.Stderr, "---- %s (last 25 lines)\n%s\n", p.container, out)
	}
}

// stopPods removes the containers, gracefully first as a kubelet would.
func stopPods() {
	for _, p := range pods {
		grace := int64(30)
		if g := p.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = *g
		}
		_, _ = podman(context.Background(), "rm", "--force", "--time", fmt.Sprint(grace), p.container)
	}
}
