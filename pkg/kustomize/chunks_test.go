package kustomize

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/kustomize"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// withChunks runs fn with the chunking thresholds set (min documents,
// chunk size) and restores them.
func withChunks(min, size int, fn func()) {
	oldMin, oldSize := chunkMin, chunkSize
	chunkMin, chunkSize = min, size
	defer func() { chunkMin, chunkSize = oldMin, oldSize }()
	fn()
}

// seedManifests are the seed example's manifests (kustomization files
// left out) in one folder without a kustomization file.
func seedManifests(t *testing.T, withPatch bool) map[string]string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, dir := range []string{"base", "overlays/production"} {
		paths, err := filepath.Glob(filepath.Join(root, "examples", "seed", "app-repo-corrected", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			base := filepath.Base(p)
			if base == "kustomization.yaml" || (base == "deployment-patch.yaml" && !withPatch) {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out["app/"+strings.ReplaceAll(dir, "/", "-")+"/"+base] = string(b)
		}
	}
	return out
}

// variedTree is a folder of n objects of many kinds over several files
// and sub-folders, referring to one another (config, secrets, service
// accounts, roles, namespaces, a CRD and its objects), with the YAML
// forms kustomize's reader treats specially: comments on separators,
// leading and trailing separators, empty documents, CRLF lines, anchors,
// block scalars ending a file.
// With namespaces, some objects are Namespaces.
func variedTree(seed uint64, n int, namespaces bool) map[string]string {
	r := rand.New(rand.NewPCG(seed, 7))
	files := map[string]*strings.Builder{}
	names := []string{"app/a.yaml", "app/b.yml", "app/sub/c.yaml", "app/sub/deeper/d.yaml", "app/e.yaml"}
	for _, f := range names {
		files[f] = &strings.Builder{}
	}
	files["app/a.yaml"].WriteString("---\n# leading separator and comment\n")
	add := func(doc string) {
		b := files[names[r.IntN(len(names))]]
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "---\n") {
			if !strings.HasSuffix(b.String(), "\n") {
				b.WriteString("\n")
			}
			seps := []string{"---\n", "--- # next\n", "---\n\n---\n"}
			b.WriteString(seps[r.IntN(len(seps))])
		}
		b.WriteString(doc)
	}
	add("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
	add("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    plural: widgets\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n")
	add("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n")
	for i := range n {
		name := fmt.Sprintf("obj-%d", i)
		switch r.IntN(9) {
		case 0:
			add(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  labels: &l\n    app: %s\ndata:\n  copy: *l\n  text: |\n    line one\n    line two", name, name))
		case 1:
			add(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: team-a\ntype: Opaque\nstringData:\n  password: \"%d\"\n", name, i))
		case 2:
			add(fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n", name))
		case 3:
			ref := fmt.Sprintf("obj-%d", r.IntN(n))
			add(fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  selector:\n    matchLabels: {app: %s}\n  template:\n    metadata:\n      labels: {app: %s}\n    spec:\n      serviceAccountName: %s\n      containers:\n      - name: c\n        image: nginx:1.%d\n        envFrom:\n        - configMapRef:\n            name: %s\n        - secretRef:\n            name: %s\n      volumes:\n      - name: v\n        configMap:\n          name: %s\n", name, name, name, ref, i, ref, fmt.Sprintf("obj-%d", r.IntN(n)), fmt.Sprintf("obj-%d", r.IntN(n))))
		case 4:
			add(fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: %s\n  namespace: default\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: reader\nsubjects:\n- kind: ServiceAccount\n  name: obj-%d\n  namespace: default\n", name, r.IntN(n)))
		case 5:
			add(fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  annotations:\n    note: \"quoted: %d\"\nspec:\n  selector:\n    app: obj-%d\n  ports:\n  - port: 80\n", name, i, r.IntN(n)))
		case 6:
			add(fmt.Sprintf("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: %s\nspec:\n  size: %d # a comment\n", name, i))
		case 7:
			add(fmt.Sprintf("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: %s\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: obj-%d\n  minReplicas: 1\n  maxReplicas: 3\n", name, r.IntN(n)))
		default:
			if namespaces {
				add(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", name))
			} else {
				add(fmt.Sprintf("apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: %s\nspec:\n  capacity: {storage: %dGi}\n", name, i))
			}
		}
	}
	files["app/e.yaml"].WriteString("\n---\n")
	out := map[string]string{"app/README.md": "not yaml\n", "app/notes.yaml": "just: config\n"}
	for f, b := range files {
		s := b.String()
		if f == "app/b.yml" {
			s = strings.ReplaceAll(s, "\n", "\r\n")
		}
		if strings.TrimSpace(s) != "" {
			out[f] = s
		}
	}
	return out
}

// TestChunkedBuildMatchesOneBuild builds folders without a kustomization
// file in chunks of several sizes and once as a whole, and requires the
// same objects, byte for byte and in the same order (or the same error).
func TestChunkedBuildMatchesOneBuild(t *testing.T) {
	overlays := map[string]Options{
		"plain":     {},
		"namespace": {TargetNamespace: "target"},
		"renamed":   {NamePrefix: "p-", NameSuffix: "-s", TargetNamespace: "target"},
		"images":    {Images: []kustomize.Image{{Name: "nginx", NewName: "registry.example.com/nginx", NewTag: "2.0"}}},
		"metadata": {
			BuildMetadata:  []string{"originAnnotations", "transformerAnnotations"},
			NamePrefix:     "m-",
			CommonMetadata: &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "a"}},
		},
	}
	trees := map[string]map[string]string{
		"seed":              seedManifests(t, false),
		"seed-dup":          seedManifests(t, true),
		"varied-1":          variedTree(1, 60, false),
		"varied-2":          variedTree(2, 120, false),
		"varied-dense":      variedTree(3, 15, false),
		"varied-namespaces": variedTree(4, 80, true),
		"duplicate": {
			"app/one.yaml": cmYAML("x") + "---\n" + cmYAML("y"),
			"app/two.yaml": cmYAML("z") + "---\n" + cmYAML("x"),
		},
		"namespace-conflict": {
			"app/a.yaml": strings.Replace(cmYAML("x"), "  name: x\n", "  name: x\n  namespace: a\n", 1) + "---\n" + cmYAML("y"),
			"app/b.yaml": strings.Replace(cmYAML("x"), "  name: x\n", "  name: x\n  namespace: b\n", 1) + "---\n" + cmYAML("z"),
		},
	}
	for tname, tree := range trees {
		f := files(t, tree)
		for oname, o := range overlays {
			o.Path = "app"
			t.Run(tname+"/"+oname, func(t *testing.T) {
				var want built
				var wantErr error
				withChunks(1<<30, 1, func() { want, wantErr = build(f, o) })
				chunked := false
				for _, size := range []int{1, 2, 5, 40} {
					var got built
					var err error
					withChunks(2, size, func() {
						fsys, ferr := f.fileSystem()
						if ferr != nil {
							t.Fatal(ferr)
						}
						if p, ok, _ := planChunks(fsys, fsys, "/app", o); ok && len(p.chunks) > 1 {
							chunked = true
						}
						got, err = build(f, o)
					})
					if fmt.Sprint(err) != fmt.Sprint(wantErr) {
						t.Fatalf("chunks of %d: error %v, one build: %v", size, err, wantErr)
					}
					if len(got.json) != len(want.json) {
						t.Fatalf("chunks of %d: %d objects, one build %d", size, len(got.json), len(want.json))
					}
					for i := range want.json {
						if string(got.json[i]) != string(want.json[i]) {
							t.Fatalf("chunks of %d: object %d differs:\n%s\none build:\n%s", size, i, got.json[i], want.json[i])
						}
					}
				}
				if !chunked && wantErr == nil {
					t.Fatalf("the tree was never split into chunks")
				}
			})
		}
	}
}

// markerDecryptor "decrypts" files holding CIPHER by replacing it, and
// fails on files holding BROKEN.
type markerDecryptor struct{}

func (markerDecryptor) DecryptFile(name string, b []byte) ([]byte, bool, error) {
	if strings.Contains(string(b), "BROKEN") {
		return nil, false, fmt.Errorf("%s: no key", name)
	}
	if !strings.Contains(string(b), "CIPHER") {
		return b, false, nil
	}
	return []byte(strings.ReplaceAll(string(b), "CIPHER", "plain")), true, nil
}

// TestChunkedBuildDecrypts builds an encrypted folder in chunks: the
// documents are split after decryption, and a file that cannot be
// decrypted fails the build as one build does.
func TestChunkedBuildDecrypts(t *testing.T) {
	var secret, plain strings.Builder
	for i := range 30 {
		fmt.Fprintf(&secret, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s-%d\nstringData:\n  v: CIPHER\n---\n", i)
		plain.WriteString(cmYAML(fmt.Sprintf("c-%d", i)) + "---\n")
	}
	for _, broken := range []bool{false, true} {
		tree := map[string]string{"app/secrets.yaml": secret.String(), "app/plain.yaml": plain.String()}
		if broken {
			tree["app/secrets.yaml"] += "# BROKEN\n"
		}
		f := files(t, tree)
		o := Options{Path: "app", TargetNamespace: "ns", Decryptor: markerDecryptor{}}
		var want, got built
		var wantErr, err error
		withChunks(1<<30, 1, func() { want, wantErr = build(f, o) })
		withChunks(2, 7, func() { got, err = build(f, o) })
		if broken {
			if !errors.Is(err, ErrDecryption) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("broken file: error %v, one build: %v", err, wantErr)
			}
			continue
		}
		if err != nil || wantErr != nil {
			t.Fatalf("errors: %v, one build: %v", err, wantErr)
		}
		if !got.decrypted || !want.decrypted {
			t.Fatalf("decrypted: %v, one build: %v", got.decrypted, want.decrypted)
		}
		if len(got.json) != 60 || fmt.Sprint(got.json) != fmt.Sprint(want.json) {
			t.Fatalf("chunked output differs from one build's")
		}
		if n := strings.Count(fmt.Sprintf("%s", got.json), `"v":"plain"`); n != 30 {
			t.Fatalf("%d of 30 secrets decrypted", n)
		}
	}
}
