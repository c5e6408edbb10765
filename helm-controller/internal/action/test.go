package action

import (
	helmaction "helm.sh/helm/v4/pkg/action"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Test runs the chart's test hooks on obj's current release, honouring
// spec.test (timeout, filters). The returned release carries the hooks'
// last runs even when a test failed.
func Test(cfg *helmaction.Configuration, obj *helmv2.HelmRelease) (*helmrelease.Release, error) {
	spec := obj.GetTest()
	test := helmaction.NewReleaseTesting(cfg)
	test.Namespace = obj.GetReleaseNamespace()
	test.Timeout = spec.GetTimeout(obj.GetTimeout())
	test.Filters = Filters(spec.Filters)
	// The shutdown func only collects hook pod logs, which are not kept.
	rls, _, err := test.Run(obj.GetReleaseName())
	return result(rls, err)
}

// Filters turns spec.test.filters into Helm's filter map: "name" selects
// tests, "!name" excludes them.
func Filters(filters []helmv2.Filter) map[string][]string {
	if len(filters) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, f := range filters {
		key := "name"
		if f.Exclude {
			key = "!name"
		}
		out[key] = append(out[key], f.Name)
	}
	return out
}
