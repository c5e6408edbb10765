package ui

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/cli/internal/secretmask"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// valuesSource is one layer of a HelmRelease's values, in merge order.
type valuesSource struct {
	From   string // "ConfigMap ns/name key", "Secret …" or "spec.values"
	Target string // targetPath, when the layer sets one value
	YAML   string
	Masked bool
	Error  string
}

// releaseValues reads the layers helm-controller merges: each valuesFrom
// reference, then spec.values. Values from a Secret are masked: the page
// says which keys a Secret holds, never what they hold.
func (s *Server) releaseValues(ctx context.Context, hr *helmv2.HelmRelease) []valuesSource {
	var out []valuesSource
	for _, ref := range hr.Spec.ValuesFrom {
		key := cmpOr(ref.ValuesKey, "values.yaml")
		v := valuesSource{From: fmt.Sprintf("%s %s/%s %s", ref.Kind, hr.Namespace, ref.Name, key), Target: ref.TargetPath}
		if ref.Optional {
			v.From += " (optional)"
		}
		nk := client.ObjectKey{Namespace: hr.Namespace, Name: ref.Name}
		switch ref.Kind {
		case "Secret":
			v.Masked = true
			sec := &corev1.Secret{}
			if err := s.client(ctx).Get(ctx, nk, sec); err != nil {
				v.Error = err.Error()
				break
			}
			v.YAML = maskedSecretData(sec, key)
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			if err := s.client(ctx).Get(ctx, nk, cm); err != nil {
				v.Error = err.Error()
				break
			}
			if d, ok := cm.Data[key]; ok {
				v.YAML = d
			} else {
				v.Error = fmt.Sprintf("no key %q in ConfigMap %s", key, nk)
			}
		default:
			v.Error = fmt.Sprintf("unsupported kind %q", ref.Kind)
		}
		out = append(out, v)
	}
	if hr.Spec.Values != nil && len(hr.Spec.Values.Raw) > 0 {
		b, err := yaml.JSONToYAML(hr.Spec.Values.Raw)
		v := valuesSource{From: "spec.values", YAML: string(b)}
		if err != nil {
			v.Error = err.Error()
		}
		out = append(out, v)
	}
	return out
}

// maskedSecretData is the Secret's entry at key as masked YAML: when the
// entry is a YAML map its keys stay visible and every value is masked,
// otherwise the entry is one mask.
func maskedSecretData(sec *corev1.Secret, key string) string {
	raw, ok := sec.Data[key]
	if !ok {
		return fmt.Sprintf("# no key %q in this Secret", key)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil || m == nil {
		m = map[string]any{key: string(raw)}
	}
	return maskYAML(m)
}

// maskYAML masks every value of m through secretmask, the way diffs mask
// Secret data, and renders it.
func maskYAML(m map[string]any) string {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"data": runtime.DeepCopyJSON(flatten(m, ""))}}
	secretmask.Mask(u, nil)
	b, _ := yaml.Marshal(u.Object["data"])
	return strings.TrimSpace(string(b))
}

// flatten turns nested maps into dotted paths so each leaf is one masked
// value (JSON-compatible types only, as DeepCopyJSON needs).
func flatten(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			for fk, fv := range flatten(sub, prefix+k+".") {
				out[fk] = fv
			}
			continue
		}
		out[prefix+k] = fmt.Sprint(v)
	}
	return out
}
