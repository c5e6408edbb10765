package fleet

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
	"gotk.dev/pkg/kustomize"
)

// fieldOwner is the manager kustomize-controller applies with.
const fieldOwner = "kustomize-controller"

// validation checks the built objects of one cluster against its API server.
type validation struct {
	cfg      *rest.Config
	findings []Finding
	skipped  []Skipped
	// namespaces are the Namespaces the rendered objects declare (and the
	// bootstrap one).
	namespaces map[string]bool
	d          *discoverer
	// base are the Kustomizations at --base, applied for real first so
	// that changes of immutable fields show as in the cluster.
	base []*node
	// alias maps a chart's object given the release namespace to the
	// object rendered (whose template is known).
	alias map[*unstructured.Unstructured]*unstructured.Unstructured
	// server is the release of the API server of the run.
	server *helmcommon.KubeVersion
}

// run applies the CRDs and Namespaces the fleet declares, for real, then
// dry-runs every other object in dependency order as the controller
// would apply it.
func (v *validation) run(ctx context.Context, nodes []*node) error {
	c, err := client.New(v.cfg, client.Options{})
	if err != nil {
		return err
	}
	v.namespaces = map[string]bool{BootstrapNamespace: true}
	if dc, err := discovery.NewDiscoveryClientForConfig(v.cfg); err == nil {
		if info, err := dc.ServerVersion(); err == nil {
			v.server, _ = helmcommon.ParseKubeVersion(info.GitVersion)
		}
	}
	if len(v.base) > 0 {
		if err := applyBase(ctx, v.cfg, v.base); err != nil {
			return err
		}
	}
	// CRDs first: the kinds they define are then known.
	for _, n := range nodes {
		for _, obj := range n.objs {
			if isCRD(obj) {
				if err := install.Apply(ctx, c, []*unstructured.Unstructured{obj}); err != nil {
					v.objectFinding(n, obj, classify(err), err.Error())
				}
			}
		}
	}
	for _, n := range nodes {
		for _, obj := range n.objs {
			if obj.GetAPIVersion() == "v1" && obj.GetKind() == "Namespace" {
				v.namespaces[obj.GetName()] = true
				if err := install.Apply(ctx, c, []*unstructured.Unstructured{obj}); err != nil {
					v.objectFinding(n, obj, classify(err), err.Error())
				}
			}
		}
	}
	// A new client maps the kinds the CRDs above added.
	if c, err = client.New(v.cfg, client.Options{}); err != nil {
		return err
	}
	for _, n := range nodes {
		for _, obj := range n.objs {
			if isCRD(obj) || (obj.GetAPIVersion() == "v1" && obj.GetKind() == "Namespace") {
				continue
			}
			if _, encrypted := obj.Object["sops"]; encrypted {
				reason := "is SOPS-encrypted: not validated (no decryption key: --decrypt-key)"
				if v.d.decryptor != nil {
					reason = "is SOPS-encrypted: not validated (its Kustomization sets no spec.decryption)"
				}
				v.skipped = append(v.skipped, Skipped{Kustomization: n.key(), Object: kustomize.ObjectRef(obj), Reason: reason})
				continue
			}
			v.dryRun(ctx, c, n, obj)
		}
	}
	return nil
}

// releaseNamespace is the release namespace of an object a chart
// rendered, "" for any other.
func releaseNamespace(n *node, obj *unstructured.Unstructured) string {
	for _, r := range n.releases {
		if _, ok := r.files[obj]; ok {
			return r.namespace
		}
	}
	return ""
}

func isCRD(obj *unstructured.Unstructured) bool {
	return obj.GetKind() == "CustomResourceDefinition" && obj.GroupVersionKind().Group == "apiextensions.k8s.io"
}

// dryRun applies obj with dryRun=All and records what the server refuses.
func (v *validation) dryRun(ctx context.Context, c client.Client, n *node, obj *unstructured.Unstructured) {
	class, msg := apiVersionFinding(obj, v.d.kubeVersion)
	if class != "" {
		v.objectFinding(n, obj, class, msg)
		if class == ClassRemovedAPI {
			// The cluster refuses it whatever its content.
			return
		}
	}
	namespaced, err := c.IsObjectNamespaced(obj)
	if err != nil {
		l, known := lifecycleOf(obj)
		switch {
		case meta.IsNoMatchError(err) && class == ClassDeprecatedAPI:
			v.skipped = append(v.skipped, Skipped{Kustomization: n.key(), Object: kustomize.ObjectRef(obj),
				Reason: "its API version is not served by the API server of this run: not validated"})
		case meta.IsNoMatchError(err) && known && v.server != nil && atOrBefore(l.removed, v.server):
			v.objectFinding(n, obj, ClassRemovedAPI, l.removedMessage(obj))
		case meta.IsNoMatchError(err):
			v.objectFinding(n, obj, ClassUnknownKind, unknownKind(obj))
		default:
			v.objectFinding(n, obj, classify(err), err.Error())
		}
		return
	}
	ns := obj.GetNamespace()
	if rns := releaseNamespace(n, obj); namespaced && ns == "" && rns != "" {
		// Helm applies a chart's namespaced objects to the release
		// namespace; findings name the chart's template still.
		target := obj.DeepCopy()
		target.SetNamespace(rns)
		v.alias[target] = obj
		obj, ns = target, rns
	}
	if namespaced && ns == "" {
		v.objectFinding(n, obj, ClassMissingNamespace, "has no namespace and the Kustomization sets no targetNamespace")
		return
	}
	err = c.Patch(ctx, obj.DeepCopy(), client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership, client.DryRunAll)
	switch {
	case err == nil:
	case namespaced && apierrors.IsNotFound(err) && !v.namespaces[ns]:
		v.objectFinding(n, obj, ClassMissingNamespace, fmt.Sprintf("namespace %q does not exist: no Namespace in the rendered manifests declares it, so the apply fails in the cluster", ns))
	default:
		v.objectFinding(n, obj, classify(err), err.Error())
	}
}

// unknownKind explains a kind no API serves: a Kubernetes group's version
// that was removed (or never existed), or a CRD the repository lacks.
func unknownKind(obj *unstructured.Unstructured) string {
	group := obj.GroupVersionKind().Group
	if group == "" || !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io") {
		return fmt.Sprintf("no API serves %s %s: Kubernetes does not serve this version (removed, or it never existed); use one the API server serves", obj.GetAPIVersion(), obj.GetKind())
	}
	return fmt.Sprintf("no API serves %s %s: its CRD is not in the repository and it is not built in", obj.GetAPIVersion(), obj.GetKind())
}

// applyBase applies the base revision's objects for real, as the cluster
// holds them before the change: CRDs and Namespaces first. What the base
// itself gets wrong is not this change's finding, so errors are dropped.
func applyBase(ctx context.Context, cfg *rest.Config, nodes []*node) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	for _, first := range []bool{true, false} {
		if !first {
			// A new client maps the kinds the base's CRDs added.
			if c, err = client.New(cfg, client.Options{}); err != nil {
				return err
			}
		}
		for _, n := range nodes {
			for _, obj := range n.objs {
				isFirst := isCRD(obj) || (obj.GetAPIVersion() == "v1" && obj.GetKind() == "Namespace")
				if _, encrypted := obj.Object["sops"]; encrypted || isFirst != first {
					continue
				}
				if isCRD(obj) {
					_ = install.Apply(ctx, c, []*unstructured.Unstructured{obj})
					continue
				}
				rns := releaseNamespace(n, obj)
				obj = obj.DeepCopy()
				if rns != "" && obj.GetNamespace() == "" {
					if namespaced, err := c.IsObjectNamespaced(obj); err == nil && namespaced {
						obj.SetNamespace(rns)
					}
				}
				_ = c.Patch(ctx, obj, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership)
			}
		}
	}
	return nil
}

func classify(err error) string {
	switch {
	case apierrors.IsInvalid(err) && strings.Contains(err.Error(), "field is immutable"):
		return ClassImmutable
	case meta.IsNoMatchError(err):
		return ClassUnknownKind
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		// Server-side apply refuses a field the schema lacks this way.
		strings.Contains(err.Error(), "field not declared in schema"):
		return ClassSchema
	default:
		return ClassApply
	}
}

func (v *validation) objectFinding(n *node, obj *unstructured.Unstructured, class, msg string) {
	src := obj
	if orig, ok := v.alias[obj]; ok {
		src = orig
	}
	v.findings = append(v.findings, Finding{
		Class: class, Kustomization: n.key(), Object: kustomize.ObjectRef(obj),
		Source: n.source, File: v.d.fileOf(n, src), Message: msg,
	})
}

// patchFile is the file explain() names in a build error.
var patchFile = regexp.MustCompile(`patch file "([^"]+)"`)

// buildFinding reports a failed build on the file it names, else on
// the Kustomization's path.
func buildFinding(n *node) Finding {
	file := n.ks.Spec.Path
	if m := patchFile.FindStringSubmatch(n.buildErr.Error()); m != nil {
		file = m[1]
	}
	return Finding{Class: ClassBuild, Kustomization: n.key(), Source: n.source, File: file, Message: n.buildErr.Error()}
}
