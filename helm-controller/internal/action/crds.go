package action

import (
	"bytes"
	"errors"
	"fmt"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// applyCRDs creates the chart's CRDs (crds/ directories) that are missing
// and, with CreateReplace, updates the existing ones. CRDs are never
// deleted. Helm itself only creates CRDs on install.
func applyCRDs(cfg *helmaction.Configuration, chrt *helmchart.Chart, policy helmv2.CRDsPolicy) error {
	if policy == helmv2.Skip {
		return nil
	}
	for _, obj := range chrt.CRDObjects() {
		res, err := cfg.KubeClient.Build(bytes.NewReader(obj.File.Data), false)
		if err != nil {
			return fmt.Errorf("CRD %s: %w", obj.Filename, err)
		}
		// Client-side create and replace, as Helm 3 did with CRDs.
		if _, err := cfg.KubeClient.Create(res, kube.ClientCreateOptionServerSideApply(false, false)); err != nil {
			if !apierrors.IsAlreadyExists(errors.Unwrap(err)) && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating CRD %s: %w", obj.Filename, err)
			}
			if policy == helmv2.CreateReplace {
				if _, err := cfg.KubeClient.Update(res, res, kube.ClientUpdateOptionServerSideApply(false, false), kube.ClientUpdateOptionForceReplace(true)); err != nil {
					return fmt.Errorf("replacing CRD %s: %w", obj.Filename, err)
				}
			}
		}
	}
	return nil
}

func isNotFound(err error) bool {
	return errors.Is(err, driver.ErrReleaseNotFound)
}
