package install

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"gotk.dev/pkg/apis"
)

// ShardedControllers run one Deployment per shard with --shards, as in
// Flux's sharding guide: the controllers whose objects refer to sources
// (and source-controller, which builds the HelmCharts of a shard's
// HelmReleases).
var ShardedControllers = []string{"source-controller", "kustomize-controller", "helm-controller"}

// ShardRoleLabel marks the Deployments and Services of shards, as the
// guide's kustomize patches label them.
const ShardRoleLabel = "sharding.fluxcd.io/role"

// validateShards checks each shard name makes a label value and, with
// the longest controller name, a Service name.
func validateShards(shards []string) error {
	seen := map[string]bool{}
	for _, s := range shards {
		if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
			return fmt.Errorf("--shards: %q is not a valid shard name: %s", s, strings.Join(errs, "; "))
		}
		if errs := validation.IsDNS1035Label("kustomize-controller-" + s); len(errs) > 0 {
			return fmt.Errorf("--shards: %q is too long for a Deployment name <controller>-<shard>: %s", s, strings.Join(errs, "; "))
		}
		if seen[s] {
			return fmt.Errorf("--shards: %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// Deployments are the controller Deployments an install runs: one per
// component and, with shards, one more per shard of the sharded ones.
func (o Options) Deployments() []string {
	var out []string
	for _, c := range o.Components {
		if c == UI {
			out = append(out, uiDeployment)
			continue
		}
		out = append(out, c)
		if slices.Contains(ShardedControllers, c) {
			for _, s := range o.Shards {
				out = append(out, c+"-"+s)
			}
		}
	}
	return out
}

// shard adds the shard Deployments (and source-controller's Services) to
// the rendered objects: the main Deployment of a sharded controller
// watches what carries no shard key, <controller>-<shard> what carries
// its key.
func shard(objs []*unstructured.Unstructured, shards []string) []*unstructured.Unstructured {
	if len(shards) == 0 {
		return objs
	}
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		out = append(out, obj)
		name := obj.GetName()
		if !slices.Contains(ShardedControllers, name) || (obj.GetKind() != "Deployment" && obj.GetKind() != "Service") {
			continue
		}
		for _, s := range shards {
			out = append(out, shardCopy(obj, s))
		}
		if obj.GetKind() == "Deployment" {
			insertArg(obj, "--watch-label-selector=!"+apis.ShardKeyLabel, "")
		}
	}
	return out
}

// shardCopy is a Deployment or Service of one shard: its own name and
// app label (so the main Service never routes to a shard's Pods), its
// selector, and for source-controller its own artifact address.
func shardCopy(obj *unstructured.Unstructured, s string) *unstructured.Unstructured {
	c := obj.DeepCopy()
	name := obj.GetName() + "-" + s
	c.SetName(name)
	labels := c.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ShardRoleLabel] = "shard"
	c.SetLabels(labels)
	if c.GetKind() == "Service" {
		_ = unstructured.SetNestedField(c.Object, name, "spec", "selector", "app")
		return c
	}
	_ = unstructured.SetNestedField(c.Object, name, "spec", "selector", "matchLabels", "app")
	_ = unstructured.SetNestedField(c.Object, name, "spec", "template", "metadata", "labels", "app")
	_ = unstructured.SetNestedField(c.Object, "shard", "spec", "template", "metadata", "labels", ShardRoleLabel)
	insertArg(c, "--watch-label-selector="+apis.ShardKeyLabel+"="+s, "")
	insertArg(c, "--storage-adv-addr="+name+".$(RUNTIME_NAMESPACE).svc.cluster.local.", "--storage-adv-addr=")
	return c
}

// insertArg puts arg first in the manager container's args or, when
// replace is set, in place of the arg with that prefix (nothing when
// there is none).
func insertArg(obj *unstructured.Unstructured, arg, replace string) {
	containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		m := c.(map[string]any)
		if m["name"] != "manager" {
			continue
		}
		args, _ := m["args"].([]any)
		if replace == "" {
			m["args"] = append([]any{arg}, args...)
			continue
		}
		for i, a := range args {
			if s, ok := a.(string); ok && strings.HasPrefix(s, replace) {
				args[i] = arg
			}
		}
	}
	_ = unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers")
}
