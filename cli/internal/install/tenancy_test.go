package install

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestMultiTenantArgs: --multi-tenant gives every controller that follows
// references --no-cross-namespace-refs=true, and kustomize- and
// helm-controller --default-service-account=default; source-controller
// and the default install get neither.
func TestMultiTenantArgs(t *testing.T) {
	const noCross, defaultSA = "--no-cross-namespace-refs=true", "--default-service-account=default"
	for _, tc := range []struct {
		controller  string
		multiTenant bool
		want        []string
		notWant     []string
	}{
		{controller: "kustomize-controller", multiTenant: true, want: []string{noCross, defaultSA}},
		{controller: "helm-controller", multiTenant: true, want: []string{noCross, defaultSA}},
		{controller: "image-automation-controller", multiTenant: true, want: []string{noCross}, notWant: []string{defaultSA}},
		{controller: "notification-controller", multiTenant: true, want: []string{noCross}, notWant: []string{defaultSA}},
		{controller: "source-controller", multiTenant: true, notWant: []string{noCross, defaultSA}},
		{controller: "kustomize-controller", notWant: []string{noCross, defaultSA}},
		{controller: "helm-controller", notWant: []string{noCross, defaultSA}},
	} {
		t.Run(tc.controller, func(t *testing.T) {
			g := NewWithT(t)
			o := DefaultOptions()
			o.MultiTenant = tc.multiTenant
			args := deploymentArgs(t, o, tc.controller)
			g.Expect(args).To(ContainElements(tc.want))
			for _, w := range tc.notWant {
				g.Expect(args).NotTo(ContainElement(w))
			}
			// Each flag is set once, whatever the manifest had.
			seen := map[string]bool{}
			for _, a := range args {
				g.Expect(seen[a]).To(BeFalse(), "%s twice", a)
				seen[a] = true
			}
		})
	}
	// A value the manifest already sets is replaced, not duplicated.
	g := NewWithT(t)
	g.Expect(lockdown("helm-controller", []any{"--no-cross-namespace-refs=false", "--default-service-account"})).
		To(Equal([]any{noCross, defaultSA}))
}

func deploymentArgs(t *testing.T, o Options, controller string) []string {
	t.Helper()
	objs, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		if obj.GetKind() != "Deployment" || obj.GetName() != controller {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		var args []string
		for _, a := range containers[0].(map[string]any)["args"].([]any) {
			args = append(args, a.(string))
		}
		return args
	}
	t.Fatalf("no Deployment %s", controller)
	return nil
}
