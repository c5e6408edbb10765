package kustomize

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// Variables collects postBuild's variables: substituteFrom ConfigMaps and
// Secrets in order (later ones win), then the inline substitute map,
// which wins over all. A missing source fails unless it is optional.
// Errors name the object and key, never a value.
func Variables(ctx context.Context, r client.Reader, namespace string, pb *kustomizev1.PostBuild) (map[string]string, error) {
	vars := map[string]string{}
	if pb == nil {
		return vars, nil
	}
	for _, ref := range pb.SubstituteFrom {
		key := client.ObjectKey{Namespace: namespace, Name: ref.Name}
		var data map[string]string
		switch ref.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := r.Get(ctx, key, &cm); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, fmt.Errorf("substituteFrom ConfigMap/%s/%s: %w", namespace, ref.Name, err)
			}
			data = cm.Data
		case "Secret":
			var s corev1.Secret
			if err := r.Get(ctx, key, &s); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, fmt.Errorf("substituteFrom Secret/%s/%s: %w", namespace, ref.Name, err)
			}
			data = make(map[string]string, len(s.Data)+len(s.StringData))
			for k, v := range s.Data {
				data[k] = string(v)
			}
		default:
			return nil, fmt.Errorf("substituteFrom %s/%s: kind must be ConfigMap or Secret", ref.Kind, ref.Name)
		}
		for k, v := range data {
			if !ValidVarName(k) {
				return nil, fmt.Errorf("substituteFrom %s/%s/%s: key %q is not a valid variable name", ref.Kind, namespace, ref.Name, k)
			}
			vars[k] = v
		}
	}
	for k, v := range pb.Substitute {
		if !ValidVarName(k) {
			return nil, fmt.Errorf("postBuild.substitute: %q is not a valid variable name", k)
		}
		vars[k] = v
	}
	return vars, nil
}
