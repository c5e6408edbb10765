// Package bootstrap commits gotk's install and sync manifests to a Git
// repository, applies them, and waits until the cluster syncs itself from
// that repository.
package bootstrap

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/cli/internal/catalog"
	"gotk.dev/cli/internal/install"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// Name is the name of the GitRepository, Kustomization and Secret that
// sync the cluster from its own repository (as Flux names them).
const Name = "flux-system"

// Files are the files bootstrap writes under <path>/flux-system/.
const (
	ComponentsFile    = "gotk-components.yaml"
	SyncFile          = "gotk-sync.yaml"
	KustomizationFile = "kustomization.yaml"
)

// DefaultInterval is the GitRepository's interval unless --interval says
// otherwise, as in Flux.
const DefaultInterval = time.Minute

// SyncObjects returns the GitRepository (every interval, DefaultInterval
// when zero) and Kustomization (interval 10m, prune) that sync clusterPath
// of the repository at url.
func SyncObjects(namespace, url, branch, clusterPath string, interval time.Duration) (*sourcev1.GitRepository, *kustomizev1.Kustomization) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	repo := &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: namespace},
		Spec: sourcev1.GitRepositorySpec{
			URL: url, Interval: metav1.Duration{Duration: interval},
			Reference: &sourcev1.GitRepositoryRef{Branch: branch},
			SecretRef: &meta.LocalObjectReference{Name: Name},
		},
	}
	ks := &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: namespace},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: 10 * time.Minute}, Path: "./" + strings.TrimPrefix(path.Clean(clusterPath), "./"),
			Prune: true, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: Name},
		},
	}
	return repo, ks
}

// Files renders the three files, keyed by their name.
func Files(opts install.Options, namespace, url, branch, clusterPath string, interval time.Duration) (map[string][]byte, error) {
	components, err := install.Render(opts)
	if err != nil {
		return nil, err
	}
	repo, ks := SyncObjects(namespace, url, branch, clusterPath, interval)
	sync, err := marshalAll(repo, ks)
	if err != nil {
		return nil, err
	}
	kustomization := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\n- %s\n",
		ComponentsFile, SyncFile)
	return map[string][]byte{ComponentsFile: components, SyncFile: sync, KustomizationFile: []byte(kustomization)}, nil
}

func marshalAll(objs ...any) ([]byte, error) {
	var out []byte
	for _, o := range objs {
		data, err := catalog.CleanYAML(o)
		if err != nil {
			return nil, err
		}
		out = append(append(out, "---\n"...), data...)
	}
	return out, nil
}
