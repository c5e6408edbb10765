package kustomize

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// Variables collects postBuild's variables as Flux does: substituteFrom
// ConfigMaps and Secrets in order (later ones win), then the inline
// substitute map, which wins over all; newlines are removed from every
// value. A missing source fails unless it is optional. With r nil the
// sources are not read (a build without a cluster). Errors name the
// object and key, never a value.
func Variables(ctx context.Context, r client.Reader, namespace string, pb *kustomizev1.PostBuild) (map[string]string, error) {
	vars := map[string]string{}
	if pb == nil {
		return vars, nil
	}
	for _, ref := range pb.SubstituteFrom {
		if r == nil {
			break
		}
		data, err := sourceData(ctx, r, namespace, ref)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			if !ValidVarName(k) {
				return nil, fmt.Errorf("substituteFrom %s/%s/%s: key %q is not a valid variable name, must match %s", ref.Kind, namespace, ref.Name, k, varNamePattern)
			}
			vars[k] = strings.ReplaceAll(v, "\n", "")
		}
	}
	for k, v := range pb.Substitute {
		if !ValidVarName(k) {
			return nil, fmt.Errorf("postBuild.substitute: %q is not a valid variable name, must match %s", k, varNamePattern)
		}
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	return vars, nil
}

// sourceData reads one substituteFrom source; an optional one that does
// not exist gives no data.
func sourceData(ctx context.Context, r client.Reader, namespace string, ref kustomizev1.SubstituteReference) (map[string]string, error) {
	key := client.ObjectKey{Namespace: namespace, Name: ref.Name}
	switch ref.Kind {
	case "ConfigMap":
		var cm corev1.ConfigMap
		if err := r.Get(ctx, key, &cm); err != nil {
			if apierrors.IsNotFound(err) && ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("substituteFrom ConfigMap/%s/%s: %w", namespace, ref.Name, err)
		}
		return cm.Data, nil
	case "Secret":
		var s corev1.Secret
		if err := r.Get(ctx, key, &s); err != nil {
			if apierrors.IsNotFound(err) && ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("substituteFrom Secret/%s/%s: %w", namespace, ref.Name, err)
		}
		data := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
		return data, nil
	default:
		return nil, fmt.Errorf("substituteFrom %s/%s: kind must be ConfigMap or Secret", ref.Kind, ref.Name)
	}
}
