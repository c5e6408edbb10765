package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gotk.dev/cli/internal/install"
	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/localcluster"
)

// Options say what to check.
type Options struct {
	// Dir is the fleet repository's root.
	Dir string
	// Paths are cluster directories relative to Dir (default: every
	// clusters/* directory).
	Paths []string
	// Sources map outside sources (Kind/namespace/name) to local directories.
	Sources map[string]string
	// ControlPlaneDir holds kube-apiserver and etcd ("": localcluster's default).
	ControlPlaneDir string
	// Base is a Git revision to diff the rendered objects against ("": no diff).
	Base string
	// Offline leaves charts of HelmRepositories unfetched: their
	// HelmReleases are skipped, never passed.
	Offline bool
	// KubeVersion is the Kubernetes release of the cluster (1.31,
	// v1.31.2): API versions it deprecates or removes are findings, and
	// charts see it as .Capabilities.KubeVersion. "": not checked.
	KubeVersion string
	// DecryptKeys are files of age identities (or armored OpenPGP
	// private keys, *.asc) decrypting the SOPS files of Kustomizations
	// with spec.decryption; without them those files stay encrypted and
	// are skipped.
	DecryptKeys []string

	kubeVersion *helmcommon.KubeVersion
	decryptor   kustomize.FileDecryptor
}

// ParseSource parses --source KIND/NAMESPACE/NAME=DIR.
func ParseSource(s string) (key, dir string, err error) {
	ref, dir, ok := strings.Cut(s, "=")
	parts := strings.Split(ref, "/")
	if !ok || dir == "" || len(parts) != 3 || slices.Contains(parts, "") {
		return "", "", fmt.Errorf("--source %q: want KIND/NAMESPACE/NAME=DIR, e.g. GitRepository/flux-system/my-app=../my-app", s)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("--source %q: %s is not a directory", s, dir)
	}
	abs, err := filepath.Abs(dir)
	return ref, abs, err
}

// Run checks every cluster directory and returns the report; an error
// means the check itself could not run.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	root, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", o.Dir)
	}
	if o.KubeVersion != "" {
		if o.kubeVersion, err = helmcommon.ParseKubeVersion(o.KubeVersion); err != nil {
			return nil, fmt.Errorf("--kube-version %q: want a Kubernetes release such as 1.31: %w", o.KubeVersion, err)
		}
	}
	if o.decryptor, err = loadDecryptor(ctx, o.DecryptKeys); err != nil {
		return nil, err
	}
	paths, err := clusterPaths(root, o.Paths)
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{sourceKey("GitRepository", BootstrapNamespace, BootstrapName): root}
	for k, v := range o.Sources {
		dirs[k] = v
	}
	trees := map[string]*sourceTree{}
	var base *sourceTree
	if o.Base != "" {
		files, err := loadRevision(root, o.Base)
		if err != nil {
			return nil, err
		}
		key := sourceKey("GitRepository", BootstrapNamespace, BootstrapName)
		base = &sourceTree{key: key, files: files, index: indexFiles(files)}
	}
	report := &Report{Base: o.Base}
	for _, p := range paths {
		var baseNodes []*node
		if base != nil {
			if baseNodes, err = renderBase(ctx, o, p, dirs, base); err != nil {
				return nil, fmt.Errorf("cluster %s at %s: %w", p, o.Base, err)
			}
		}
		cr, err := checkCluster(ctx, o, p, dirs, trees, baseNodes)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", p, err)
		}
		if base != nil {
			cr.Diff = diffNodes(baseNodes, cr.nodes)
		}
		report.Clusters = append(report.Clusters, *cr)
	}
	report.Seconds = time.Since(start).Seconds()
	return report, nil
}

// clusterPaths are the given paths (checked to exist) or every
// clusters/* directory.
func clusterPaths(root string, given []string) ([]string, error) {
	if len(given) == 0 {
		matches, _ := filepath.Glob(filepath.Join(root, "clusters", "*"))
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				rel, _ := filepath.Rel(root, m)
				given = append(given, filepath.ToSlash(rel))
			}
		}
		if len(given) == 0 {
			return nil, fmt.Errorf("no clusters/* directory in %s: pass --path", root)
		}
		return given, nil
	}
	for _, p := range given {
		full := filepath.Join(root, p)
		if rel, err := filepath.Rel(root, full); err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("--path %s is outside the repository", p)
		}
		if fi, err := os.Stat(full); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--path %s is not a directory of the repository", p)
		}
	}
	return given, nil
}

// checkCluster discovers, builds and validates one cluster directory on
// an API server of its own (Namespaces and CRDs of one cluster must not
// make another's pass).
func checkCluster(ctx context.Context, o Options, path string, dirs map[string]string, trees map[string]*sourceTree, base []*node) (*ClusterReport, error) {
	// The control plane starts while the Kustomizations are built.
	st := startCluster(ctx, o)
	d := newDiscoverer(o, trees, dirs)
	derr := d.discover(ctx, path)
	cluster, err := st.wait()
	if err != nil {
		return nil, errors.Join(derr, err)
	}
	defer cluster.Stop() //nolint:errcheck // a temporary cluster; its files go with it
	if derr != nil {
		return nil, derr
	}
	nodes, findings := order(d.nodes, d.byKey)
	cr := &ClusterReport{Path: path, Findings: []Finding{}, Skipped: []Skipped{}}
	for _, n := range nodes {
		if n.buildErr != nil {
			findings = append(findings, buildFinding(n))
		}
		if n.skip != "" {
			cr.Skipped = append(cr.Skipped, Skipped{Kustomization: n.key(), Reason: n.skip})
		}
		findings = append(findings, n.releaseFindings...)
		cr.Skipped = append(cr.Skipped, n.releaseSkips...)
	}
	findings = append(findings, doubleOwners(nodes, d)...)
	cr.nodes = nodes
	v := &validation{d: d, cfg: cluster.Config, base: base, alias: map[*unstructured.Unstructured]*unstructured.Unstructured{}}
	if err := v.run(ctx, nodes); err != nil {
		return nil, err
	}
	cr.Findings = append(findings, v.findings...)
	cr.Skipped = append(cr.Skipped, v.skipped...)
	for _, n := range nodes {
		status := "passed"
		switch {
		case n.skip != "":
			status = "skipped"
		case n.inCycle || slices.ContainsFunc(cr.Findings, func(f Finding) bool { return f.Kustomization == n.key() }):
			status = "failed"
		}
		cr.Kustomizations = append(cr.Kustomizations, KustomizationResult{
			Name: n.key(), Source: n.source, Path: n.ks.Spec.Path, File: n.declared, Objects: len(n.objs), Status: status,
		})
	}
	return cr, nil
}

// renderBase renders the cluster at the base revision (outside sources
// are the same directories), in dependency order.
func renderBase(ctx context.Context, o Options, path string, dirs map[string]string, base *sourceTree) ([]*node, error) {
	d := newDiscoverer(o, map[string]*sourceTree{base.key: base}, dirs)
	if err := d.discover(ctx, path); err != nil {
		return nil, err
	}
	nodes, _ := order(d.nodes, d.byKey)
	return nodes, nil
}

// started is a control plane being started in the background.
type started struct {
	cluster *localcluster.Cluster
	err     error
	done    chan struct{}
}

// startCluster starts the control plane with gotk's CRDs and the
// bootstrap namespace installed, as in a bootstrapped cluster, while the
// caller builds; wait returns it.
func startCluster(ctx context.Context, o Options) *started {
	s := &started{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.cluster, s.err = bootstrapped(ctx, o)
	}()
	return s
}

// wait returns the started cluster; the caller stops it.
func (s *started) wait() (*localcluster.Cluster, error) {
	<-s.done
	return s.cluster, s.err
}

func bootstrapped(ctx context.Context, o Options) (*localcluster.Cluster, error) {
	opts := []localcluster.Option{localcluster.WithoutCRDs()}
	if o.ControlPlaneDir != "" {
		opts = append(opts, localcluster.WithBinDir(o.ControlPlaneDir))
	}
	cl, err := localcluster.Start(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the API server (--control-plane-dir holds kube-apiserver and etcd): %w", err)
	}
	all, err := install.Objects(install.DefaultOptions())
	if err != nil {
		return nil, errors.Join(err, cl.Stop())
	}
	var base []*unstructured.Unstructured
	for _, obj := range all {
		if isCRD(obj) || obj.GetKind() == "Namespace" {
			base = append(base, obj)
		}
	}
	if err := install.Apply(ctx, cl.Client, base); err != nil {
		return nil, errors.Join(fmt.Errorf("installing gotk's CRDs: %w", err), cl.Stop())
	}
	return cl, nil
}
