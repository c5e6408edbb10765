package action

import (
	"bytes"
	"context"
	"fmt"

	helmaction "helm.sh/helm/v4/pkg/action"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// recreatePods deletes the pods of the workloads of obj's current release
// so their controllers make them anew, as rollback.recreate asks (Helm 4
// dropped the option, Helm 3 did the same after a rollback).
func recreatePods(cfg *helmaction.Configuration, obj *helmv2.HelmRelease) error {
	rls, err := Last(cfg, obj.GetReleaseName())
	if err != nil || rls == nil {
		return err
	}
	objs, err := cfg.KubeClient.Build(bytes.NewBufferString(rls.Manifest), false)
	if err != nil {
		return fmt.Errorf("recreate: %w", err)
	}
	cs, err := cfg.KubernetesClientSet()
	if err != nil {
		return fmt.Errorf("recreate: %w", err)
	}
	ctx := context.Background()
	for _, info := range objs {
		sel, err := podSelector(info.Object)
		if err != nil {
			return fmt.Errorf("recreate: %s %s: %w", info.Mapping.GroupVersionKind.Kind, info.Name, err)
		}
		if sel == nil {
			continue
		}
		pods, err := cs.CoreV1().Pods(info.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return fmt.Errorf("recreate: listing pods of %s %s: %w", info.Mapping.GroupVersionKind.Kind, info.Name, err)
		}
		for _, p := range pods.Items {
			if err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("recreate: deleting pod %s/%s: %w", p.Namespace, p.Name, err)
			}
		}
	}
	return nil
}

// podSelector is the pod selector of a workload (Deployment, StatefulSet,
// DaemonSet, ReplicaSet, ReplicationController), nil for other kinds.
func podSelector(obj runtime.Object) (labels.Selector, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Group == "apps" && (gvk.Kind == "Deployment" || gvk.Kind == "StatefulSet" || gvk.Kind == "DaemonSet" || gvk.Kind == "ReplicaSet"):
		m, found, err := unstructured.NestedMap(u.Object, "spec", "selector")
		if err != nil || !found {
			return nil, err
		}
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
			return nil, err
		}
		return metav1.LabelSelectorAsSelector(&ls)
	case gvk.Group == "" && gvk.Kind == "ReplicationController":
		m, found, err := unstructured.NestedStringMap(u.Object, "spec", "selector")
		if err != nil || !found {
			return nil, err
		}
		return labels.SelectorFromSet(m), nil
	}
	return nil, nil
}
