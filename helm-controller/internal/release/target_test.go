package release

import (
	"testing"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

func TestTargetChanged(t *testing.T) {
	installed := func(mutate func(hr *helmv2.HelmRelease)) *helmv2.HelmRelease {
		hr := &helmv2.HelmRelease{}
		hr.Namespace, hr.Name = "apps", "web"
		hr.Status.StorageNamespace = "apps"
		hr.Status.History = helmv2.Snapshots{{Name: "web", Namespace: "apps", Version: 1, ChartName: "app", Status: "deployed"}}
		if mutate != nil {
			mutate(hr)
		}
		return hr
	}
	for _, tc := range []struct {
		name    string
		hr      *helmv2.HelmRelease
		chart   string
		want    string
		changed bool
	}{
		{name: "unchanged", hr: installed(nil), chart: "app"},
		{name: "never installed", hr: &helmv2.HelmRelease{}, chart: "app"},
		{name: "no storage namespace recorded", hr: installed(func(hr *helmv2.HelmRelease) { hr.Status.StorageNamespace = "" }), chart: "app"},
		{name: "storage namespace", hr: installed(func(hr *helmv2.HelmRelease) { hr.Spec.StorageNamespace = "store" }), chart: "app",
			want: "storage namespace changed from apps to store", changed: true},
		{name: "target namespace", hr: installed(func(hr *helmv2.HelmRelease) { hr.Spec.TargetNamespace = "prod" }), chart: "app",
			want: "release namespace changed from apps to prod", changed: true},
		{name: "release name", hr: installed(func(hr *helmv2.HelmRelease) { hr.Spec.ReleaseName = "site" }), chart: "app",
			want: "release name changed from web to site", changed: true},
		{name: "chart name, default strategy", hr: installed(nil), chart: "app2",
			want: "chart name changed from app to app2", changed: true},
		{name: "chart name, Reinstall", hr: installed(func(hr *helmv2.HelmRelease) {
			hr.Spec.Upgrade = &helmv2.Upgrade{ChartNameChangeStrategy: helmv2.ChartNameChangeReinstall}
		}), chart: "app2", want: "chart name changed from app to app2", changed: true},
		{name: "chart name, InPlaceUpdate", hr: installed(func(hr *helmv2.HelmRelease) {
			hr.Spec.Upgrade = &helmv2.Upgrade{ChartNameChangeStrategy: helmv2.ChartNameChangeInPlaceUpdate}
		}), chart: "app2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := TargetChanged(tc.hr, tc.chart)
			if got != tc.want || changed != tc.changed {
				t.Fatalf("TargetChanged = %q, %v; want %q, %v", got, changed, tc.want, tc.changed)
			}
		})
	}
}
