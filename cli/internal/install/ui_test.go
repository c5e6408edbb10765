package install

import (
	"path"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"gotk.dev/pkg/imagebuild"
	"gotk.dev/pkg/version"
)

func withUI(mod func(*Options)) Options {
	o := DefaultOptions()
	o.Components = append(slices.Clone(Components), UI)
	if mod != nil {
		mod(&o)
	}
	return o
}

func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func uiArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	dep := find(objs, "Deployment", "gotk-ui")
	if dep == nil {
		t.Fatal("no gotk-ui Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	var args []string
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		args = append(args, a.(string))
	}
	return args
}

// TestUIComponent: `--components-extra ui` adds the UI's objects, in the
// mode the options choose, and nothing of it otherwise.
func TestUIComponent(t *testing.T) {
	uiObjects := []string{"ServiceAccount/gotk-ui", "Deployment/gotk-ui", "Service/gotk-ui", "ClusterRole/gotk-ui",
		"ClusterRoleBinding/gotk-ui", "Role/gotk-ui", "RoleBinding/gotk-ui", "NetworkPolicy/gotk-ui"}
	proxy := []string{"ClusterRole/gotk-ui-impersonate", "ClusterRoleBinding/gotk-ui-impersonate"}
	tests := []struct {
		name          string
		opts          Options
		want, notWant []string
		args          []string
	}{
		{name: "not asked for", opts: DefaultOptions(), notWant: append(append(uiObjects, proxy...), "NetworkPolicy/gotk-ui-artifact-proxy")},
		{name: "read-only", opts: withUI(nil), want: uiObjects,
			notWant: append(proxy, "NetworkPolicy/gotk-ui-artifact-proxy"), args: []string{"--auth=read-only"}},
		{name: "trusted proxy", opts: withUI(func(o *Options) {
			o.UITrustedProxies = []string{"10.1.0.0/16", "fd00::/64"}
			o.UIAPIServerCIDRs = []string{"172.18.0.2/32"}
		}), want: append(append(uiObjects, proxy...), "NetworkPolicy/gotk-ui-artifact-proxy"),
			args: []string{"--auth=proxy-headers", "--trusted-proxy-cidr=10.1.0.0/16,fd00::/64"}},
		{name: "trusted proxy rewriting Host", opts: withUI(func(o *Options) {
			o.UITrustedProxies = []string{"10.1.0.0/16"}
			o.UIPublicURLs = []string{"https://gotk.example.com", "https://ui.example.com:8443"}
		}), want: append(uiObjects, proxy...),
			args: []string{"--auth=proxy-headers", "--public-url=https://gotk.example.com", "--public-url=https://ui.example.com:8443"}},
		{name: "no network policies", opts: withUI(func(o *Options) {
			o.NetworkPolicy = false
			o.UIAPIServerCIDRs = []string{"172.18.0.2/32"}
		}), want: []string{"Deployment/gotk-ui"}, notWant: []string{"NetworkPolicy/gotk-ui", "NetworkPolicy/gotk-ui-artifact-proxy"}},
		{name: "no workloads", opts: withUI(func(o *Options) { o.Workloads = false }),
			want: []string{"ClusterRole/gotk-ui"}, notWant: []string{"Deployment/gotk-ui", "Service/gotk-ui"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			objs, err := Objects(tt.opts)
			g.Expect(err).NotTo(HaveOccurred())
			got := names(objs)
			g.Expect(got).To(ContainElements(tt.want))
			for _, n := range tt.notWant {
				g.Expect(got).NotTo(ContainElement(n))
			}
			if tt.args != nil {
				g.Expect(uiArgs(t, objs)).To(ContainElements(tt.args))
			}
		})
	}
}

// TestUIDeployment: the UI runs the gotk image's gotk-ui (`gotk ui`'s
// server alone) with --in-cluster on its documented port, in the install's
// namespace.
func TestUIDeployment(t *testing.T) {
	g := NewWithT(t)
	objs, err := Objects(withUI(func(o *Options) { o.Registry = "registry.example.com/gotk" }))
	g.Expect(err).NotTo(HaveOccurred())
	dep := find(objs, "Deployment", "gotk-ui")
	g.Expect(dep.GetNamespace()).To(Equal("flux-system"))
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	repo, tag, _ := strings.Cut(c["image"].(string), ":")
	g.Expect(repo).To(Equal("registry.example.com/gotk/gotk"))
	g.Expect(tag).To(Equal(version.Version))
	built, err := imagebuild.ComponentsByName([]string{path.Base(repo)})
	g.Expect(err).NotTo(HaveOccurred())
	// The command is the gotk-ui binary the gotk image holds beside /gotk.
	g.Expect(built[0].Helpers).To(ContainElement(imagebuild.UIPackage))
	g.Expect(c).To(HaveKeyWithValue("command", ConsistOf(path.Join(path.Dir(imagebuild.CLIEntrypoint), path.Base(imagebuild.UIPackage)))))
	g.Expect(uiArgs(t, objs)).To(ContainElements("--in-cluster", "--address=0.0.0.0:9292", "--system-namespace=$(RUNTIME_NAMESPACE)"))
	g.Expect(uiArgs(t, objs)).NotTo(ContainElement("ui"))
	port, _, _ := unstructured.NestedSlice(find(objs, "Service", "gotk-ui").Object, "spec", "ports")
	g.Expect(port[0]).To(HaveKeyWithValue("port", BeEquivalentTo(9292)))
	g.Expect(withUI(nil).Deployments()).To(ContainElement("gotk-ui"))
}

// TestUIRBAC: in the full install (every controller, the UI with a
// trusted proxy), services/proxy is granted by the UI's Role alone, on
// source-controller alone; impersonate by the UI's impersonation role alone.
func TestUIRBAC(t *testing.T) {
	g := NewWithT(t)
	objs, err := Objects(withUI(func(o *Options) { o.UITrustedProxies = []string{"10.0.0.0/8"} }))
	g.Expect(err).NotTo(HaveOccurred())
	grants := map[string][]string{} // "verb resource" → roles
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
			continue
		}
		var role rbacv1.ClusterRole // a Role's rules have the same shape
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role)).To(Succeed())
		for _, r := range role.Rules {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if res == "services/proxy" {
						g.Expect(r.ResourceNames).To(ConsistOf("source-controller", "source-controller:80", "source-controller:http"))
					}
					grants[v+" "+res] = append(grants[v+" "+res], o.GetKind()+"/"+o.GetName())
				}
			}
			g.Expect(r.Verbs).NotTo(ContainElement("*"), o.GetName())
		}
	}
	g.Expect(grants["get services/proxy"]).To(Equal([]string{"Role/gotk-ui"}))
	for _, v := range []string{"create", "update", "patch", "delete", "list", "watch"} {
		g.Expect(grants).NotTo(HaveKey(v+" services/proxy"), v)
	}
	g.Expect(grants["impersonate users"]).To(Equal([]string{"ClusterRole/gotk-ui-impersonate"}))
	g.Expect(grants["impersonate groups"]).To(Equal([]string{"ClusterRole/gotk-ui-impersonate"}))
	ui := find(objs, "ClusterRole", "gotk-ui")
	g.Expect(ui).NotTo(BeNil())
	rules, _, _ := unstructured.NestedSlice(ui.Object, "rules")
	for _, r := range rules {
		g.Expect(r.(map[string]any)["verbs"]).To(ConsistOf("get", "list", "watch"))
	}
}

func TestUIOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.UITrustedProxies = []string{"10.0.0.1"} }, `--ui-trusted-proxy-cidr "10.0.0.1"`},
		{func(o *Options) { o.UIPublicURLs = []string{"gotk.example.com"} }, `--ui-public-url "gotk.example.com": want an http or https URL`},
		{func(o *Options) { o.UIAPIServerCIDRs = []string{"apiserver"} }, `--ui-apiserver-cidr "apiserver"`},
	} {
		_, err := Objects(withUI(tt.mod))
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tt.want)))
	}
	NewWithT(t).Expect(APIServerCIDRs([]string{"172.18.0.2", "fd00::1", "bogus"})).To(Equal([]string{"172.18.0.2/32", "fd00::1/128"}))
}
