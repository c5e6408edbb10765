// Package uicontainer runs the web UI from the gotk image as `gotk install
// --components-extra ui` declares it, with the ServiceAccount and roles
// that install grants, against a real control plane, and reads a page.
package uicontainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/imagebuild"
	"gotk.dev/pkg/testenv"
)

var (
	env       *testenv.Environment
	gotkImage string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	if _, err := exec.LookPath("podman"); err != nil || os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "these tests run the gotk image with podman as root: run them as root with podman installed (`make container-runtime`)")
		return 1
	}
	dir, err := os.MkdirTemp("", "gotk-uicontainer-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Only the gotk image: the UI needs no controller to show objects.
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	comps, _ := imagebuild.ComponentsByName([]string{"gotk"})
	res, err := imagebuild.Build(ctx, imagebuild.Options{Root: root, Components: comps, Platforms: []string{"linux/amd64"}, OutDir: filepath.Join(dir, "images")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the gotk image:", err)
		return 1
	}
	gotkImage = res.Images[0].Ref.String()
	if _, err := podman(ctx, "load", "--input", res.Tarballs["linux/amd64"]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if env, err = testenv.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	return m.Run()
}

// podmanBase: runc (crun refuses this machine's cgroup layout), rlimits
// the runner may set, and the host's network (no CNI here).
var podmanBase = []string{"--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "host"}

func podman(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "podman", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return string(out), fmt.Errorf("podman %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// TestUIFromImage: the install's objects applied, the gotk-ui Deployment's
// container run from the image with its ServiceAccount's token (read-only
// mode, the install's default) serves a list page with a Kustomization
// of any namespace, and refuses a POST.
func TestUIFromImage(t *testing.T) {
	ctx := context.Background()
	out, err := podman(ctx, append(append([]string{"run", "--rm", "--pull", "never"}, podmanBase...),
		gotkImage, "install", "--export", "--components-extra", "ui")...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := testenv.DecodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	for _, u := range objs {
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("gotk-e2e"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() == "Deployment" && u.GetName() == "gotk-ui" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &dep); err != nil {
				t.Fatal(err)
			}
		}
	}
	if dep.Name == "" {
		t.Fatal("the install has no gotk-ui Deployment")
	}
	ns := env.NewNamespace(t)
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "from-the-image"},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./",
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}}}
	testenv.Eventually(t, time.Minute, "the Kustomization CRD serves", func() error { return env.Client.Create(ctx, ks) })
	apimeta.SetStatusCondition(&ks.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue,
		Reason: meta.SucceededReason, Message: "applied in a container test"})
	if err := env.Client.Status().Update(ctx, ks); err != nil {
		t.Fatal(err)
	}

	addr := startPod(t, &dep)
	body := ""
	testenv.Eventually(t, 2*time.Minute, "the UI lists the Kustomization", func() error {
		resp, err := http.Get(addr + "/kinds/kustomization")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if body = string(b); resp.StatusCode != http.StatusOK || !strings.Contains(body, "from-the-image") {
			return fmt.Errorf("%s: %.300s", resp.Status, body)
		}
		return nil
	})
	resp, err := http.PostForm(addr+"/objects/kustomization/"+ns+"/from-the-image/suspend", url.Values{"csrf": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST to the read-only UI = %s, want 403", resp.Status)
	}
}

// startPod runs the Deployment's container as a kubelet would, with what
// it needs from one: the ServiceAccount's token, CA and namespace mounted,
// the in-cluster API server address, the emptyDirs, the downward-API
// namespace; it listens on a free loopback port (host network). It
// returns the UI's base URL.
func startPod(t *testing.T, dep *appsv1.Deployment) string {
	t.Helper()
	ctx := context.Background()
	c := dep.Spec.Template.Spec.Containers[0]
	var err error
	tr := &authenticationv1.TokenRequest{}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: dep.Namespace, Name: dep.Spec.Template.Spec.ServiceAccountName}}
	if err = env.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatalf("a token for %s: %v", sa.Name, err)
	}
	dir := t.TempDir()
	saDir, session := filepath.Join(dir, "serviceaccount"), filepath.Join(dir, "session")
	for _, d := range []string{saDir, session} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(d, 0o777) // the image's non-root user writes the session
	}
	ca := env.Config.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(env.Config.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": ca, "namespace": []byte(dep.Namespace)} {
		if err := os.WriteFile(filepath.Join(saDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	api, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	ports, err := testenv.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", ports[0])
	var args []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--address=") {
			a = "--address=" + listen // the host network is shared
		}
		args = append(args, strings.ReplaceAll(a, "$(RUNTIME_NAMESPACE)", dep.Namespace))
	}
	name := "gotk-ui-" + strings.ToLower(t.Name())
	_, _ = podman(ctx, "rm", "-f", name)
	run := append([]string{"run", "-d", "--name", name, "--pull", "never"}, podmanBase...)
	run = append(run, "--read-only", "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
		"-e", "KUBERNETES_SERVICE_HOST="+api.Hostname(), "-e", "KUBERNETES_SERVICE_PORT="+api.Port(),
		"-v", saDir+":/var/run/secrets/kubernetes.io/serviceaccount:ro", "-v", session+":/var/run/gotk-ui",
		"--tmpfs", "/tmp")
	// The Deployment's command replaces the image's entrypoint (/gotk)
	// as the kubelet does; podman takes its first element.
	if len(c.Command) > 0 {
		run = append(run, "--entrypoint", c.Command[0])
		args = append(c.Command[1:len(c.Command):len(c.Command)], args...)
	}
	run = append(run, c.Image)
	if _, err := podman(ctx, append(run, args...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := podman(ctx, "logs", name)
			t.Logf("gotk-ui logs:\n%s", logs)
		}
		_, _ = podman(ctx, "rm", "-f", name)
	})
	return "http://" + listen
}
