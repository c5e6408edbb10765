package cmd

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

func newCreateKustomization(g *Globals, cf *createFlags) *cobra.Command {
	var source, path, targetNS, sa, decryptSecret, decryptProvider, kubeconfigSecret string
	var prune, wait bool
	var dependsOn, healthChecks []string
	cmd := &cobra.Command{
		Use:   "kustomization NAME --source KIND/NAME[.NAMESPACE] --path PATH",
		Short: "Create a Kustomization",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, ns, err := parseRef(source, "--source")
			if err != nil {
				return err
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &kustomizev1.Kustomization{ObjectMeta: om, Spec: kustomizev1.KustomizationSpec{
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: kind, Name: name, Namespace: ns},
				Path:      path, Prune: prune, Wait: wait, Interval: cf.duration(), TargetNamespace: targetNS, ServiceAccountName: sa,
			}}
			for _, d := range dependsOn {
				obj.Spec.DependsOn = append(obj.Spec.DependsOn, meta.DependencyReference{Name: d})
			}
			for _, h := range healthChecks {
				kind, name, ns, err := parseRef(h, "--health-check")
				if err != nil {
					return err
				}
				obj.Spec.HealthChecks = append(obj.Spec.HealthChecks, meta.NamespacedObjectKindReference{Kind: kind, Name: name, Namespace: ns})
			}
			if decryptProvider != "" && decryptProvider != "sops" {
				return fmt.Errorf("--decryption-provider %q: the only provider is sops", decryptProvider)
			}
			if decryptProvider != "" || decryptSecret != "" {
				obj.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: secretRef(decryptSecret)}
			}
			if kubeconfigSecret != "" {
				obj.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: kubeconfigSecret}}
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "source of the manifests, e.g. GitRepository/app")
	f.StringVar(&path, "path", "./", "path of the manifests in the source")
	f.BoolVar(&prune, "prune", true, "delete objects that left the source")
	f.BoolVar(&wait, "wait", false, "wait until everything applied is healthy")
	f.StringVar(&targetNS, "target-namespace", "", "namespace for the applied objects")
	f.StringVar(&sa, "service-account", "", "service account to impersonate when applying")
	f.StringSliceVar(&dependsOn, "depends-on", nil, "Kustomizations that must be ready first")
	f.StringSliceVar(&healthChecks, "health-check", nil, "objects to health-check, as Kind/name.namespace")
	f.StringVar(&decryptSecret, "decryption-secret", "", "Secret with SOPS keys (enables SOPS decryption)")
	f.StringVar(&decryptProvider, "decryption-provider", "", "decryption provider: sops")
	f.StringVar(&kubeconfigSecret, "kubeconfig-secret-ref", "", "Secret with a kubeconfig (key value or value.yaml) of the cluster to apply to")
	return cmd
}

func newCreateHelmRelease(g *Globals, cf *createFlags) *cobra.Command {
	var source, chart, version, chartRef, targetNS, valuesFile, sa, releaseName string
	var createNamespace bool
	var dependsOn, valuesFrom []string
	cmd := &cobra.Command{
		Use:   "helmrelease NAME (--chart-ref KIND/NAME | --source HelmRepository/NAME --chart CHART)",
		Short: "Create a HelmRelease",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &helmv2.HelmRelease{ObjectMeta: om, Spec: helmv2.HelmReleaseSpec{Interval: cf.duration(), TargetNamespace: targetNS,
				ServiceAccountName: sa, ReleaseName: releaseName}}
			for _, d := range dependsOn {
				name, ns, _ := strings.Cut(d, "/")
				if ns != "" { // Flux's form is namespace/name
					name, ns = ns, name
				}
				obj.Spec.DependsOn = append(obj.Spec.DependsOn, meta.DependencyReference{Name: name, Namespace: ns})
			}
			for _, v := range valuesFrom {
				kind, name, ok := strings.Cut(v, "/")
				if !ok || (kind != "Secret" && kind != "ConfigMap") || name == "" {
					return fmt.Errorf("--values-from wants Secret/name or ConfigMap/name, got %q", v)
				}
				obj.Spec.ValuesFrom = append(obj.Spec.ValuesFrom, meta.ValuesReference{Kind: kind, Name: name})
			}
			switch {
			case chartRef != "" && source == "":
				kind, name, ns, err := parseRef(chartRef, "--chart-ref")
				if err != nil {
					return err
				}
				obj.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: kind, Name: name, Namespace: ns}
			case source != "" && chart != "" && chartRef == "":
				kind, name, ns, err := parseRef(source, "--source")
				if err != nil {
					return err
				}
				obj.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: chart, Version: version,
					SourceRef: helmv2.CrossNamespaceObjectReference{Kind: kind, Name: name, Namespace: ns}}}
			default:
				return errors.New("give either --chart-ref, or --source and --chart")
			}
			if createNamespace {
				obj.Spec.Install = &helmv2.Install{CreateNamespace: true}
			}
			if valuesFile != "" {
				values, err := readValues(valuesFile)
				if err != nil {
					return err
				}
				obj.Spec.Values = values
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&chartRef, "chart-ref", "", "OCIRepository or HelmChart with the chart, e.g. OCIRepository/podinfo")
	f.StringVar(&source, "source", "", "HelmRepository/GitRepository/Bucket with the chart")
	f.StringVar(&chart, "chart", "", "chart name (or path in a Git/Bucket source)")
	f.StringVar(&version, "chart-version", "*", "chart version or semver range")
	f.StringVar(&targetNS, "target-namespace", "", "namespace to install into")
	f.BoolVar(&createNamespace, "create-target-namespace", false, "create the target namespace")
	f.StringVar(&valuesFile, "values", "", "YAML file of values")
	f.StringSliceVar(&dependsOn, "depends-on", nil, "HelmReleases that must be ready first, as name or namespace/name")
	f.StringVar(&sa, "service-account", "", "service account to impersonate when installing")
	f.StringVar(&releaseName, "release-name", "", "Helm release name (default: [<target-namespace>-]<name>)")
	f.StringSliceVar(&valuesFrom, "values-from", nil, "Secret or ConfigMap with values, as Kind/name (e.g. Secret/app-values)")
	return cmd
}

func readValues(path string) (*apiextensionsv1.JSON, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s is not a YAML map of values: %w", path, err)
	}
	raw, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	return &apiextensionsv1.JSON{Raw: raw}, nil
}
