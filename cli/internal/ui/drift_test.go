package ui

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

const driftManifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ignored
  annotations:
    kustomize.toolkit.fluxcd.io/ssa: Ignore
data:
  key: desired
---
apiVersion: v1
kind: Secret
metadata:
  name: web-db
stringData:
  password: %s
`

// driftCluster sets up a Kustomization "apps" whose source artifact is
// served through the API server's service proxy, and its objects as
// applied and then changed by hand; it returns their namespace and the
// desired and live Secret values.
func driftCluster(t *testing.T) (ns, password, livePassword string) {
	t.Helper()
	ctx := context.Background()
	ns = env.NewNamespace(t)
	password, livePassword = "desired-pw-1", "changed-by-hand"
	arts := testserver.NewArtifactServerForTest(t)
	artURL, digest, _, err := arts.AddFiles("apps.tar.gz", map[string]string{
		"apps/kustomization.yaml": "resources: [manifests.yaml]\n",
		"apps/manifests.yaml":     strings.Replace(driftManifests, "%s", password, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	svcURL := serveThroughService(t, ns, arts.BaseURL())
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"},
		Spec: sourcev1.GitRepositorySpec{URL: "https://git.example/repo", Interval: metav1.Duration{Duration: time.Hour}}}
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(artURL)
	repo.Status.Artifact = &meta.Artifact{Path: "apps.tar.gz", URL: svcURL + u.Path, Revision: "main@sha1:1111111111111111111111111111111111111111",
		Digest: digest, LastUpdateTime: metav1.Now()}
	if err := env.Client.Status().Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apps"},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./apps",
			TargetNamespace: ns, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}}}
	if err := env.Client.Create(ctx, ks); err != nil {
		t.Fatal(err)
	}
	// The cluster as applied, then changed by hand: the Deployment scaled
	// with the scale subresource (what `kubectl scale` does), the Secret's
	// password replaced.
	labels := map[string]string{kustomizev1.NameLabel: "apps", kustomizev1.NamespaceLabel: ns}
	applied := []client.Object{
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: labels},
			Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}}}}},
		&corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-db", Labels: labels}, StringData: map[string]string{"password": livePassword}},
	}
	// Changed too, but the controller never applies it: no drift to show.
	applied = append(applied, &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ignored", Labels: labels}, Data: map[string]string{"key": "by hand"}})
	for _, o := range applied {
		if err := env.Client.Patch(ctx, o, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership); err != nil {
			t.Fatal(err)
		}
	}
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if err := env.Client.SubResource("scale").Update(ctx, applied[0], client.WithSubResourceBody(scale)); err != nil {
		t.Fatalf("scaling: %v", err)
	}

	return ns, password, livePassword
}

// TestDriftDiff: the drift page fetches the source's artifact through
// the API server's service proxy, builds it and shows, by server-side
// dry-run, what changed in the cluster, with Secret values masked.
func TestDriftDiff(t *testing.T) {
	ns, password, livePassword := driftCluster(t)
	b := open(t, env.Config, "")
	b.eventually(t, "/objects/kustomization/"+ns+"/apps", `id="drift-link"`)
	body := b.eventually(t, "/objects/kustomization/"+ns+"/apps/drift", `id="drift"`)
	if strings.Contains(body, `id="drift-error"`) || strings.Contains(body, `id="drift-approximate"`) {
		t.Fatalf("the drift page reports an error:\n%s", body)
	}
	for _, want := range []string{"Deployment/" + ns + "/web configured", `-  replicas: 5`, `&#43;  replicas: 2`,
		"Secret/" + ns + "/web-db configured", "*** (before)", "*** (after)"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the drift page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "/ignored") {
		t.Fatalf("the drift page shows an object annotated ssa: Ignore:\n%s", body)
	}
	for _, secret := range []string{password, livePassword} {
		if strings.Contains(body, secret) {
			t.Fatalf("the drift page shows a Secret value %q", secret)
		}
	}
}

// TestDriftWithoutPatch: a user who may read the objects but not patch
// them (no dry-run) gets the drift field by field, labelled approximate
// with the reason, instead of an error.
func TestDriftWithoutPatch(t *testing.T) {
	ns, password, livePassword := driftCluster(t)
	user := "reader-" + ns
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "read"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"}},
		}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "read"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	for _, o := range []client.Object{role, binding} {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	b := open(t, cfg, ns)
	body := b.eventually(t, "/objects/kustomization/"+ns+"/apps/drift", `id="drift"`)
	if strings.Contains(body, `id="drift-error"`) {
		t.Fatalf("the drift page reports an error:\n%s", body)
	}
	for _, want := range []string{`id="drift-approximate"`, "Approximate: compared field by field", "needs patch access", "cannot patch",
		"Deployment/" + ns + "/web configured", `-  replicas: 5`, `&#43;  replicas: 2`,
		"Secret/" + ns + "/web-db configured", "*** (before)", "*** (after)"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the drift page lacks %q:\n%s", want, body)
		}
	}
	// Only the fields the desired state sets are compared: the server's
	// defaults (strategy, imagePullPolicy...) are no drift.
	for _, not := range []string{"/ignored", "imagePullPolicy", "strategy", password, livePassword} {
		if strings.Contains(body, not) {
			t.Fatalf("the drift page shows %q:\n%s", not, body)
		}
	}
}

// serveThroughService makes the artifact server reachable as Service
// "source-controller" in ns through the API server's service proxy: an
// Endpoints on a non-loopback address of this machine (the API server
// refuses loopback endpoints) forwarding to the server. It returns the
// in-cluster base URL.
func serveThroughService(t *testing.T, ns, target string) string {
	t.Helper()
	ip := hostIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := url.Parse(target)
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(to), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "source-controller"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(port)}}}}
	// The API server proxies only to endpoints backed by a Pod with that
	// IP: a Pod standing for the server, its status set as a kubelet would.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "source-controller"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "gotk:dev"}}}}
	if err := env.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	if err := env.Client.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "source-controller"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: ip,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID}}},
			Ports: []corev1.EndpointPort{{Name: "http", Port: port}}}}}
	// The API server finds a Service's endpoints by EndpointSlice (newer
	// releases) or Endpoints (older): both, as the endpoint controllers would.
	ready := true
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "source-controller-manual",
		Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, UID: pod.UID}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: &port}}}
	for _, o := range []client.Object{svc, eps, slice} {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	return "http://source-controller." + ns + ".svc.cluster.local."
}

// hostIP is a non-loopback IPv4 address of this machine.
func hostIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address for the API server to proxy to")
	return ""
}

func ptr[T any](v T) *T { return &v }
