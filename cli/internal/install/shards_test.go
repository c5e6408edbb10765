package install

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestShards renders installs with and without --shards and checks each
// controller Deployment's selector flag and artifact address, and the
// shard Services of source-controller.
func TestShards(t *testing.T) {
	const adv = ".$(RUNTIME_NAMESPACE).svc.cluster.local."
	tests := []struct {
		name       string
		components []string
		shards     []string
		// deployments: name → its --watch-label-selector ("" none) and,
		// for source-controller, --storage-adv-addr.
		deployments map[string][2]string
		services    []string
		err         string
	}{
		{name: "no shards", components: Components, deployments: map[string][2]string{
			"source-controller": {"", "source-controller" + adv}, "kustomize-controller": {}, "helm-controller": {},
			"notification-controller": {}, "image-automation-controller": {},
		}, services: []string{"source-controller", "notification-controller", "webhook-receiver"}},
		{name: "two shards", components: Components, shards: []string{"shard1", "shard2"}, deployments: map[string][2]string{
			"source-controller":           {"!sharding.fluxcd.io/key", "source-controller" + adv},
			"source-controller-shard1":    {"sharding.fluxcd.io/key=shard1", "source-controller-shard1" + adv},
			"source-controller-shard2":    {"sharding.fluxcd.io/key=shard2", "source-controller-shard2" + adv},
			"kustomize-controller":        {"!sharding.fluxcd.io/key"},
			"kustomize-controller-shard1": {"sharding.fluxcd.io/key=shard1"},
			"kustomize-controller-shard2": {"sharding.fluxcd.io/key=shard2"},
			"helm-controller":             {"!sharding.fluxcd.io/key"},
			"helm-controller-shard1":      {"sharding.fluxcd.io/key=shard1"},
			"helm-controller-shard2":      {"sharding.fluxcd.io/key=shard2"},
			"notification-controller":     {}, "image-automation-controller": {},
		}, services: []string{"source-controller", "source-controller-shard1", "source-controller-shard2", "notification-controller", "webhook-receiver"}},
		{name: "only the installed components", components: []string{"source-controller", "kustomize-controller"}, shards: []string{"a"},
			deployments: map[string][2]string{
				"source-controller":      {"!sharding.fluxcd.io/key", "source-controller" + adv},
				"source-controller-a":    {"sharding.fluxcd.io/key=a", "source-controller-a" + adv},
				"kustomize-controller":   {"!sharding.fluxcd.io/key"},
				"kustomize-controller-a": {"sharding.fluxcd.io/key=a"},
			}, services: []string{"source-controller", "source-controller-a"}},
		{name: "bad name", components: Components, shards: []string{"Shard_1"}, err: `--shards: "Shard_1" is not a valid shard name`},
		{name: "twice", components: Components, shards: []string{"a", "a"}, err: `--shards: "a" is listed twice`},
		{name: "too long", components: Components, shards: []string{strings.Repeat("s", 50)}, err: "too long for a Deployment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			o := DefaultOptions()
			o.Components, o.Shards = tt.components, tt.shards
			objs, err := Objects(o)
			if tt.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			deployments := map[string][2]string{}
			var services []string
			for _, obj := range objs {
				switch obj.GetKind() {
				case "Deployment":
					deployments[obj.GetName()] = deploymentShard(g, obj)
				case "Service":
					services = append(services, obj.GetName())
					sel, _, _ := unstructured.NestedString(obj.Object, "spec", "selector", "app")
					if obj.GetName() != "webhook-receiver" {
						g.Expect(sel).To(Equal(obj.GetName()), "Service %s routes to its own Pods only", obj.GetName())
					}
				}
			}
			g.Expect(deployments).To(Equal(tt.deployments))
			g.Expect(services).To(ConsistOf(tt.services))
			g.Expect(o.Deployments()).To(ConsistOf(keys(tt.deployments)))
		})
	}
}

// deploymentShard checks a Deployment selects its own Pods (app label =
// its name) and returns its --watch-label-selector (there must be at
// most one) and --storage-adv-addr.
func deploymentShard(g Gomega, obj *unstructured.Unstructured) [2]string {
	name := obj.GetName()
	sel, _, _ := unstructured.NestedString(obj.Object, "spec", "selector", "matchLabels", "app")
	pod, _, _ := unstructured.NestedString(obj.Object, "spec", "template", "metadata", "labels", "app")
	g.Expect([]string{sel, pod}).To(HaveEach(name), "Deployment %s: selector and Pod labels", name)
	containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	var out [2]string
	selectors := 0
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		arg := a.(string)
		if v, ok := strings.CutPrefix(arg, "--watch-label-selector="); ok {
			out[0] = v
			selectors++
		}
		if v, ok := strings.CutPrefix(arg, "--storage-adv-addr="); ok {
			out[1] = v
		}
	}
	g.Expect(selectors).To(BeNumerically("<=", 1), "Deployment %s: one --watch-label-selector", name)
	return out
}

func keys(m map[string][2]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
