package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strings"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/helm/postrender"
	"gotk.dev/pkg/helm/values"
	"gotk.dev/pkg/kustomize"
)

// rendered is what one HelmRelease's chart renders, in the node that
// declares the HelmRelease.
type rendered struct {
	// release is namespace/name of the HelmRelease.
	release string
	// namespace is the release namespace: what namespaced objects
	// without one are applied to, as Helm does.
	namespace string
	// files maps each rendered object to its chart template.
	files map[*unstructured.Unstructured]string
}

// isHelmRelease tells a HelmRelease of helm-controller's API.
func isHelmRelease(obj *unstructured.Unstructured) bool {
	return obj.GetKind() == "HelmRelease" && obj.GroupVersionKind().Group == helmv2.GroupVersion.Group
}

// renderReleases renders the chart of every HelmRelease the cluster's
// Kustomizations build, once every Kustomization is built (valuesFrom
// may name a ConfigMap any of them renders), and adds the chart's
// objects to the Kustomization declaring the release, so they are
// validated and diffed as its own.
func (d *discoverer) renderReleases(ctx context.Context) {
	for _, n := range d.nodes {
		var add []*unstructured.Unstructured
		for _, obj := range n.objs {
			if !isHelmRelease(obj) {
				continue
			}
			hr := &helmv2.HelmRelease{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, hr); err != nil {
				// The API server reports the bad field when the object is validated.
				continue
			}
			if hr.Namespace == "" {
				hr.Namespace = n.ks.Namespace
			}
			ref := kustomize.ObjectRef(obj)
			objs, r, skip, err := d.renderRelease(ctx, hr)
			switch {
			case err != nil:
				n.releaseFindings = append(n.releaseFindings, Finding{Class: ClassHelm, Kustomization: n.key(), Object: ref,
					Source: n.source, File: d.fileOf(n, obj), Message: err.Error()})
			case skip != "":
				n.releaseSkips = append(n.releaseSkips, Skipped{Kustomization: n.key(), Object: ref, Reason: skip})
			default:
				n.releases = append(n.releases, r)
				add = append(add, objs...)
			}
		}
		n.objs = append(n.objs, add...)
	}
}

// renderRelease renders hr's chart with its values as helm-controller
// installs it; skip says why it was not rendered when it could not be.
func (d *discoverer) renderRelease(ctx context.Context, hr *helmv2.HelmRelease) ([]*unstructured.Unstructured, *rendered, string, error) {
	chrt, skip, err := d.loadChart(hr)
	if err != nil || skip != "" {
		return nil, nil, skip, err
	}
	vals, err := values.Compose(ctx, d.vars, hr.Namespace, hr.Spec.ValuesFrom, hr.GetValues())
	if err != nil {
		return nil, nil, "", err
	}
	install := helmaction.NewInstall(helmaction.NewConfiguration(helmaction.ConfigurationSetLogger(slog.DiscardHandler)))
	install.ReleaseName = hr.GetReleaseName()
	install.Namespace = hr.GetReleaseNamespace()
	install.DryRunStrategy = helmaction.DryRunClient
	install.Replace = true
	spec := hr.GetInstall()
	install.DisableHooks = spec.DisableHooks
	install.SkipSchemaValidation = spec.DisableSchemaValidation
	install.IncludeCRDs = spec.GetCRDsPolicy() != helmv2.Skip
	install.PostRenderer = postrender.For(hr)
	// The API names the strategies as Helm does.
	install.PostRenderStrategy = helmaction.PostRenderStrategy(hr.GetPostRenderStrategy())
	if d.kubeVersion != nil {
		install.KubeVersion = d.kubeVersion
	}
	res, err := install.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return nil, nil, "", fmt.Errorf("rendering chart %s: %w", chrt.Name(), err)
	}
	rel, ok := res.(*helmrelease.Release)
	if !ok {
		return nil, nil, "", fmt.Errorf("rendering chart %s: unexpected Helm release type %T", chrt.Name(), res)
	}
	r := &rendered{release: hr.Namespace + "/" + hr.Name, namespace: install.Namespace, files: map[*unstructured.Unstructured]string{}}
	manifest := rel.Manifest
	for _, h := range rel.Hooks {
		if !isTestHook(h.Events) {
			manifest += "\n---\n# Source: " + h.Path + "\n" + h.Manifest
		}
	}
	var objs []*unstructured.Unstructured
	for _, doc := range splitDocs([]byte(manifest)) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, nil, "", fmt.Errorf("chart %s renders invalid YAML: %w", chrt.Name(), err)
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, u)
		r.files[u] = chrt.Name()
		if m := sourceComment.FindSubmatch(doc); m != nil {
			r.files[u] = string(m[1])
		}
	}
	return objs, r, "", nil
}

// sourceComment is the template Helm names above each rendered document.
var sourceComment = regexp.MustCompile(`(?m)^# Source: (\S+)`)

func isTestHook[T ~string](events []T) bool {
	for _, e := range events {
		if strings.HasPrefix(string(e), "test") {
			return true
		}
	}
	return false
}

// loadChart loads hr's chart from a source of the repository (or mapped
// with --source); a chart elsewhere is skipped with the reason.
func (d *discoverer) loadChart(hr *helmv2.HelmRelease) (*helmchart.Chart, string, error) {
	if hr.Spec.Chart == nil {
		ref := hr.Spec.ChartRef
		if ref == nil {
			return nil, "", fmt.Errorf("neither spec.chart nor spec.chartRef is set")
		}
		ns := ref.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		if ref.Kind == "OCIRepository" {
			return d.fetchChartRef(sourceKey(ref.Kind, ns, ref.Name))
		}
		return nil, fmt.Sprintf("chart from %s %s is not fetched: only chartRef to an OCIRepository is", ref.Kind, ref.Name), nil
	}
	spec := hr.Spec.Chart.Spec
	ns := spec.SourceRef.Namespace
	if ns == "" {
		ns = hr.Namespace
	}
	key := sourceKey(spec.SourceRef.Kind, ns, spec.SourceRef.Name)
	if spec.SourceRef.Kind == "HelmRepository" {
		return d.fetchChart(key, spec)
	}
	tree, err := d.tree(key)
	if err != nil {
		return nil, "", err
	}
	if tree == nil {
		return nil, fmt.Sprintf("chart source %s is not this repository; map it to a local directory with --source %s=DIR", key, key), nil
	}
	chrt, err := chartFromTree(tree.files, spec.Chart)
	if err != nil {
		return nil, "", err
	}
	return chrt, "", mergeValuesFiles(chrt, tree.files, spec)
}

// chartFromTree loads the chart directory dir of a source's files.
func chartFromTree(files *kustomize.Files, dir string) (*helmchart.Chart, error) {
	prefix := strings.TrimPrefix(path.Clean("/"+dir), "/") + "/"
	var buffered []*archive.BufferedFile
	for _, p := range files.Paths() {
		rel := strings.TrimPrefix(p, "/")
		if !strings.HasPrefix(rel, prefix) {
			continue
		}
		data, _ := files.Read(p)
		buffered = append(buffered, &archive.BufferedFile{Name: strings.TrimPrefix(rel, prefix), Data: data})
	}
	if len(buffered) == 0 {
		return nil, fmt.Errorf("chart %s: no such directory in the source", dir)
	}
	chrt, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", dir, err)
	}
	return chrt, nil
}

// mergeValuesFiles merges spec.valuesFiles (paths in the source) over
// the chart's default values, in order, as source-controller packages
// the chart.
func mergeValuesFiles(chrt *helmchart.Chart, files *kustomize.Files, spec helmv2.HelmChartTemplateSpec) error {
	if len(spec.ValuesFiles) == 0 {
		return nil
	}
	merged := helmcommon.Values(chrt.Values).AsMap()
	for _, f := range spec.ValuesFiles {
		data, ok := files.Read(strings.TrimPrefix(path.Clean("/"+f), "/"))
		if !ok {
			if spec.IgnoreMissingValuesFiles {
				continue
			}
			return fmt.Errorf("values file %s: not in the source", f)
		}
		v, err := helmcommon.ReadValues(data)
		if err != nil {
			return fmt.Errorf("values file %s: %w", f, err)
		}
		merged = values.Merge(merged, v.AsMap())
	}
	chrt.Values = merged
	return nil
}
