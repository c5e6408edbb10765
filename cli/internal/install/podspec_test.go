package install

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestPodOptions: each of Flux's pod-level install flags reaches every
// controller Deployment, shards included; a bad value is refused.
func TestPodOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(o *Options)
		check func(t *testing.T, dep *unstructured.Unstructured, args string)
	}{{
		name: "cluster domain",
		set:  func(o *Options) { o.ClusterDomain = "corp.internal" },
		check: func(t *testing.T, dep *unstructured.Unstructured, args string) {
			if strings.Contains(args, "cluster.local") || (strings.Contains(args, ".svc.") && !strings.Contains(args, ".svc.corp.internal.")) {
				t.Errorf("%s args %s", dep.GetName(), args)
			}
		},
	}, {
		name: "log level",
		set:  func(o *Options) { o.LogLevel = "debug" },
		check: func(t *testing.T, dep *unstructured.Unstructured, args string) {
			if !strings.Contains(args, "--log-level=debug") || strings.Contains(args, "--log-level=info") {
				t.Errorf("%s args %s", dep.GetName(), args)
			}
		},
	}, {
		name: "image pull secret",
		set:  func(o *Options) { o.ImagePullSecret = "regcred" },
		check: func(t *testing.T, dep *unstructured.Unstructured, _ string) {
			s, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "imagePullSecrets")
			if len(s) != 1 || s[0].(map[string]any)["name"] != "regcred" {
				t.Errorf("%s imagePullSecrets %v", dep.GetName(), s)
			}
		},
	}, {
		name: "toleration keys",
		set:  func(o *Options) { o.TolerationKeys = []string{"dedicated", "gpu"} },
		check: func(t *testing.T, dep *unstructured.Unstructured, _ string) {
			s, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "tolerations")
			if len(s) != 2 || s[1].(map[string]any)["key"] != "gpu" || s[1].(map[string]any)["operator"] != "Exists" {
				t.Errorf("%s tolerations %v", dep.GetName(), s)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Shards = []string{"a"}
			tc.set(&o)
			objs, err := Objects(o)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, obj := range objs {
				if obj.GetKind() != "Deployment" {
					continue
				}
				n++
				c, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
				args, _ := c[0].(map[string]any)["args"].([]any)
				var words []string
				for _, a := range args {
					words = append(words, a.(string))
				}
				tc.check(t, obj, strings.Join(words, " "))
			}
			if n <= len(Components) {
				t.Fatalf("%d Deployments: the shard's are missing", n)
			}
		})
	}
	for _, bad := range []struct {
		set  func(o *Options)
		want string
	}{
		{func(o *Options) { o.LogLevel = "trace" }, `--log-level "trace": want one of debug, info, error`},
		{func(o *Options) { o.ClusterDomain = "http://x" }, "is not a DNS domain"},
	} {
		o := DefaultOptions()
		bad.set(&o)
		if _, err := Objects(o); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error = %v; want %q", err, bad.want)
		}
	}
}
