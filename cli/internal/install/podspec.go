package install

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// LogLevels are the controllers' --log-level values, as in Flux.
var LogLevels = []string{"debug", "info", "error"}

// DefaultClusterDomain is the cluster's DNS domain the manifests name.
const DefaultClusterDomain = "cluster.local"

// validatePodOptions names the first bad pod-level option.
func (o Options) validatePodOptions() error {
	if o.LogLevel != "" && !slices.Contains(LogLevels, o.LogLevel) {
		return fmt.Errorf("--log-level %q: want one of %s", o.LogLevel, strings.Join(LogLevels, ", "))
	}
	if strings.ContainsAny(o.ClusterDomain, "/ :") {
		return fmt.Errorf("--cluster-domain %q is not a DNS domain", o.ClusterDomain)
	}
	return nil
}

// customisePods sets what Flux's install flags set on every controller
// Deployment (shards included): the cluster domain in the addresses the
// controllers advertise, the log level, an image pull secret and
// tolerations of the given taint keys.
func customisePods(objs []*unstructured.Unstructured, o Options) {
	for _, obj := range objs {
		if obj.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			m := c.(map[string]any)
			args, _ := m["args"].([]any)
			for i, a := range args {
				s, _ := a.(string)
				if o.ClusterDomain != "" && o.ClusterDomain != DefaultClusterDomain {
					s = strings.ReplaceAll(s, ".svc."+DefaultClusterDomain+".", ".svc."+o.ClusterDomain+".")
				}
				if o.LogLevel != "" && strings.HasPrefix(s, "--log-level=") {
					s = "--log-level=" + o.LogLevel
				}
				args[i] = s
			}
		}
		_ = unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers")
		if o.ImagePullSecret != "" {
			_ = unstructured.SetNestedSlice(obj.Object, []any{map[string]any{"name": o.ImagePullSecret}}, "spec", "template", "spec", "imagePullSecrets")
		}
		if len(o.TolerationKeys) > 0 {
			var tolerations []any
			for _, k := range o.TolerationKeys {
				tolerations = append(tolerations, map[string]any{"key": k, "operator": "Exists"})
			}
			_ = unstructured.SetNestedSlice(obj.Object, tolerations, "spec", "template", "spec", "tolerations")
		}
	}
}
