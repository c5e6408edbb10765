package fleet

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/kustomize"
)

// Bootstrap names the GitRepository bootstrap creates for the fleet
// repository itself, and its namespace (which bootstrap creates).
const (
	BootstrapNamespace = "flux-system"
	BootstrapName      = "flux-system"
)

// sourceKey names a source as Kind/namespace/name.
func sourceKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// node is one Kustomization found in the fleet.
type node struct {
	ks *kustomizev1.Kustomization
	// declared is the source file declaring the Kustomization ("" for the
	// cluster's root).
	declared string
	// declaredIn is the source key of the file declaring it.
	declaredIn string
	// source is the Kustomization's source key; tree is its files (nil
	// when skipped).
	source string
	tree   *sourceTree
	objs   []*unstructured.Unstructured
	// buildErr is the build's failure, skip why it was not built.
	buildErr error
	skip     string
	// inCycle is set when its dependsOn lead back to it: never applied.
	inCycle bool
	// releases are the HelmReleases among objs whose charts were
	// rendered (their objects are in objs too); releaseFindings and
	// releaseSkips what could not be.
	releases        []*rendered
	releaseFindings []Finding
	releaseSkips    []Skipped
}

func (n *node) key() string { return n.ks.Namespace + "/" + n.ks.Name }

// sourceTree is one source's files, read once.
type sourceTree struct {
	key   string
	files *kustomize.Files
	// index maps kind/name to the files declaring such an object.
	index map[string][]string
}

// discoverer follows Kustomizations from a cluster path.
type discoverer struct {
	trees map[string]*sourceTree // by source key
	// waiting are Kustomizations whose ExternalArtifact source has no
	// ArtifactGenerator discovered yet.
	waiting []*node
	dirs    map[string]string // source key → local dir
	nodes   []*node
	byKey   map[string]*node
	vars    *repoReader
	pending []*node
	// offline leaves charts of HelmRepositories unfetched (skipped).
	offline bool
	// kubeVersion is what charts see as .Capabilities.KubeVersion (nil:
	// Helm's default).
	kubeVersion *helmcommon.KubeVersion
	// charts are the charts downloaded, by repository URL, name and version.
	charts map[string]*helmchart.Chart
	// decryptor decrypts SOPS files (nil: they stay encrypted).
	decryptor kustomize.FileDecryptor
}

// newDiscoverer returns a discoverer over the given source trees.
func newDiscoverer(o Options, trees map[string]*sourceTree, dirs map[string]string) *discoverer {
	return &discoverer{trees: trees, dirs: dirs, byKey: map[string]*node{}, vars: newRepoReader(),
		offline: o.Offline, kubeVersion: o.kubeVersion, charts: map[string]*helmchart.Chart{}, decryptor: o.decryptor}
}

// discover builds the cluster's root (the path the bootstrap
// Kustomization syncs) and every Kustomization it leads to whose source
// is this repository or mapped to a local directory. A Kustomization
// reading postBuild variables from ConfigMaps or Secrets is built after
// the others, so variables rendered anywhere in the cluster are known.
func (d *discoverer) discover(ctx context.Context, clusterPath string) error {
	root := &kustomizev1.Kustomization{}
	root.Name, root.Namespace = BootstrapName, BootstrapNamespace
	root.Spec.Path = "./" + strings.TrimPrefix(path.Clean(filepath.ToSlash(clusterPath)), "./")
	root.Spec.SourceRef = kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: BootstrapName}
	if err := d.add(root, "", ""); err != nil {
		return err
	}
	for len(d.pending) > 0 || d.retryWaiting() {
		// Build first what needs no variables from other objects.
		next := d.pending[0]
		for _, n := range d.pending {
			if n.ks.Spec.PostBuild == nil || len(n.ks.Spec.PostBuild.SubstituteFrom) == 0 {
				next = n
				break
			}
		}
		d.pending = remove(d.pending, next)
		if err := d.build(ctx, next); err != nil {
			return err
		}
	}
	d.renderReleases(ctx)
	return nil
}

// retryWaiting resolves again the Kustomizations whose ExternalArtifact
// had no ArtifactGenerator yet; it reports whether any can now be built.
func (d *discoverer) retryWaiting() bool {
	waiting := d.waiting
	d.waiting = nil
	for _, n := range waiting {
		_ = d.resolve(n) // only generatedTree runs: it returns no error
	}
	return len(d.pending) > 0
}

func remove(ns []*node, n *node) []*node {
	out := ns[:0]
	for _, m := range ns {
		if m != n {
			out = append(out, m)
		}
	}
	return out
}

// add records a Kustomization once and resolves its source.
func (d *discoverer) add(ks *kustomizev1.Kustomization, declared, declaredIn string) error {
	n := &node{ks: ks, declared: declared, declaredIn: declaredIn}
	if _, seen := d.byKey[n.key()]; seen {
		return nil
	}
	d.byKey[n.key()] = n
	d.nodes = append(d.nodes, n)
	ref := ks.Spec.SourceRef
	ns := ref.Namespace
	if ns == "" {
		ns = ks.Namespace
	}
	n.source = sourceKey(ref.Kind, ns, ref.Name)
	return d.resolve(n)
}

// resolve finds n's source files and queues n for its build; a source
// that is not local is a skip, an ExternalArtifact waits for the
// ArtifactGenerator making it to be discovered.
func (d *discoverer) resolve(n *node) error {
	ref := n.ks.Spec.SourceRef
	if _, mapped := d.dirs[n.source]; ref.Kind == externalArtifactKind && !mapped {
		ns := ref.Namespace
		if ns == "" {
			ns = n.ks.Namespace
		}
		tree, skip, err := d.generatedTree(n.source, ns, ref.Name)
		switch {
		case err != nil:
			n.buildErr, n.skip = err, ""
		case tree == nil:
			n.skip = skip
			d.waiting = append(d.waiting, n)
		default:
			n.tree, n.skip = tree, ""
			d.pending = append(d.pending, n)
		}
		return nil
	}
	tree, err := d.tree(n.source)
	if err != nil {
		return err
	}
	if tree == nil {
		n.skip = fmt.Sprintf("source %s is not this repository; map it to a local directory with --source %s=DIR", n.source, n.source)
		return nil
	}
	n.tree = tree
	d.pending = append(d.pending, n)
	return nil
}

// tree returns the files of a source, or nil when it is not local.
func (d *discoverer) tree(key string) (*sourceTree, error) {
	if t, ok := d.trees[key]; ok {
		return t, nil
	}
	dir, ok := d.dirs[key]
	if !ok {
		return nil, nil
	}
	files, err := loadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", key, dir, err)
	}
	t := &sourceTree{key: key, files: files, index: indexFiles(files)}
	d.trees[key] = t
	return t, nil
}

// build runs the controller's build of n and adds the Kustomizations it
// renders.
func (d *discoverer) build(ctx context.Context, n *node) error {
	opts := kustomize.OptionsFromSpec(&n.ks.Spec)
	sub, err := kustomize.PostBuildSubstitution(ctx, d.vars, n.ks.Namespace, n.ks.Spec.PostBuild, false)
	if err != nil {
		n.buildErr = err
		return nil
	}
	opts.Substitution = sub
	// As the controller, decrypt only for spec.decryption; without a key
	// SOPS files stay encrypted (and are skipped on validation).
	if d.decryptor != nil && n.ks.Spec.Decryption != nil {
		opts.Decryptor = d.decryptor
	}
	objs, err := kustomize.Build(n.tree.files, opts)
	if err != nil {
		n.buildErr = err
		return nil
	}
	n.objs = objs
	// All objects first: a Kustomization may use the ExternalArtifact of
	// an ArtifactGenerator declared after it.
	for _, obj := range objs {
		d.vars.add(obj)
	}
	for _, obj := range objs {
		if obj.GetKind() != "Kustomization" || !strings.HasPrefix(obj.GetAPIVersion(), kustomizev1.GroupVersion.Group+"/") {
			continue
		}
		ks := &kustomizev1.Kustomization{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, ks); err != nil {
			// The API server reports the bad field when the object is validated.
			continue
		}
		if ks.Namespace == "" {
			ks.Namespace = n.ks.Namespace
		}
		if err := d.add(ks, d.fileOf(n, obj), n.source); err != nil {
			return err
		}
	}
	return nil
}

// indexFiles maps kind/name of every YAML document to the files declaring it.
func indexFiles(files *kustomize.Files) map[string][]string {
	index := map[string][]string{}
	for _, p := range files.Paths() {
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			continue
		}
		data, _ := files.Read(p)
		for _, doc := range splitDocs(data) {
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if yamlUnmarshal(doc, &head) == nil && head.Kind != "" {
				k := head.Kind + "/" + head.Metadata.Name
				index[k] = append(index[k], strings.TrimPrefix(p, "/"))
			}
		}
	}
	return index
}

// fileOf finds the file declaring obj in n's source: one under the
// Kustomization's path when there is one, else any (a base elsewhere);
// names are matched without the Kustomization's prefix and suffix.
func (d *discoverer) fileOf(n *node, obj *unstructured.Unstructured) string {
	for _, r := range n.releases {
		if f, ok := r.files[obj]; ok {
			return f
		}
	}
	name := strings.TrimSuffix(strings.TrimPrefix(obj.GetName(), n.ks.Spec.NamePrefix), n.ks.Spec.NameSuffix)
	files := n.tree.index[obj.GetKind()+"/"+name]
	dir := strings.TrimPrefix(path.Clean(filepath.ToSlash(n.ks.Spec.Path)), "/")
	if dir == "." {
		dir = ""
	}
	for _, f := range files {
		if dir == "" || strings.HasPrefix(f, dir+"/") {
			return f
		}
	}
	if len(files) > 0 {
		return files[0]
	}
	return ""
}
