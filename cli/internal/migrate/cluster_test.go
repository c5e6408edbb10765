package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// withOldVersion adds old (a copy of the served version's schema) to the
// CRD; storeOld makes it the storage version.
func withOldVersion(t *testing.T, ctx context.Context, name, old string, storeOld bool) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatal(err)
	}
	v := *crd.Spec.Versions[0].DeepCopy()
	v.Name, v.Storage = old, storeOld
	if storeOld {
		crd.Spec.Versions[0].Storage = false
	}
	crd.Spec.Versions = append(crd.Spec.Versions, v)
	if err := env.Client.Update(ctx, crd); err != nil {
		t.Fatal(err)
	}
	waitServed(t, ctx, crd.Spec.Group+"/"+old, crd.Spec.Names.ListKind)
	return crd
}

func waitServed(t *testing.T, ctx context.Context, apiVersion, listKind string) {
	testenv.Eventually(t, 30*time.Second, apiVersion+" served", func() error {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion(apiVersion)
		l.SetKind(listKind)
		return env.Client.List(ctx, l)
	})
}

func setStorage(t *testing.T, ctx context.Context, name, version string) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatal(err)
	}
	gv := crd.Spec.Group + "/" + version
	before, err := StorageVersionHash(disco(t), gv, crd.Spec.Names.Plural)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := WaitStorageSwitch(ctx, disco(t), gv, crd.Spec.Names.Plural, before); err != nil {
			t.Fatal(err)
		}
	}()
	for i := range crd.Spec.Versions {
		crd.Spec.Versions[i].Storage = crd.Spec.Versions[i].Name == version
	}
	if err := env.Client.Update(ctx, crd); err != nil {
		t.Fatal(err)
	}
}

func disco(t *testing.T) discovery.DiscoveryInterface {
	d, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func create(t *testing.T, ctx context.Context, apiVersion, kind, ns, name string, spec map[string]any) string {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := env.Client.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	// A status as a controller writes it: without one, the first write
	// would persist the schema's status defaults and count as a rewrite.
	u.Object["status"] = map[string]any{"observedGeneration": int64(1)}
	if err := env.Client.Status().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	return u.GetResourceVersion()
}

func TestMigrateCluster(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	ksSpec := map[string]any{"interval": "1m", "prune": false, "sourceRef": map[string]any{"kind": "GitRepository", "name": "x"}}
	gitSpec := map[string]any{"interval": "1m", "url": "https://example.com/repo"}

	// Kustomizations: two stored in v1beta2, then one in v1 after the
	// storage version moved on (storedVersions [v1beta2 v1]).
	const ksCRD = "kustomizations.kustomize.toolkit.fluxcd.io"
	withOldVersion(t, ctx, ksCRD, "v1beta2", true)
	rv := map[string]string{}
	for _, n := range []string{"old-a", "old-b"} {
		rv[n] = create(t, ctx, "kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization", ns, n, ksSpec)
	}
	setStorage(t, ctx, ksCRD, "v1")
	rv["new"] = create(t, ctx, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", ns, "new", ksSpec)

	// GitRepositories: v1beta2 still the storage version; migrate moves it.
	const gitCRD = "gitrepositories.source.toolkit.fluxcd.io"
	withOldVersion(t, ctx, gitCRD, "v1beta2", true)
	rv["repo"] = create(t, ctx, "source.toolkit.fluxcd.io/v1beta2", "GitRepository", ns, "repo", gitSpec)

	// A CRD that lacks the old version is refused while objects may be stored in it.
	stripped := func(name, old string) error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return err
		}
		crd.Spec.Versions = slices.DeleteFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == old })
		for i := range crd.Spec.Versions {
			crd.Spec.Versions[i].Storage = true
		}
		return env.Client.Update(ctx, crd)
	}
	if err := stripped(ksCRD, "v1beta2"); err == nil || !strings.Contains(err.Error(), "storedVersions") {
		t.Fatalf("removing a stored version before migrating: got %v, want the API server's storedVersions refusal", err)
	}

	results, err := Cluster(ctx, env.Client, disco(t), Latest())
	if err != nil {
		t.Fatal(err)
	}
	byCRD := map[string]CRDResult{}
	for _, r := range results {
		byCRD[r.CRD] = r
	}
	for _, tt := range []struct {
		crd, version       string
		objects, rewritten int
		storedBefore       []string
	}{
		{ksCRD, "v1", 3, 2, []string{"v1beta2", "v1"}},
		{gitCRD, "v1", 1, 1, []string{"v1", "v1beta2"}},
	} {
		r := byCRD[tt.crd]
		if r.Version != tt.version || r.Objects < tt.objects || r.Rewritten != tt.rewritten || !sameSet(r.StoredVersions, tt.storedBefore) {
			t.Errorf("%s: got %+v, want version %s, %d objects, %d rewritten, stored before %v", tt.crd, r, tt.version, tt.objects, tt.rewritten, tt.storedBefore)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: tt.crd}, crd); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(crd.Status.StoredVersions, []string{tt.version}) {
			t.Errorf("%s storedVersions = %v, want [%s]", tt.crd, crd.Status.StoredVersions, tt.version)
		}
	}
	// The object already stored in v1 was not written.
	got := &unstructured.Unstructured{}
	got.SetAPIVersion("kustomize.toolkit.fluxcd.io/v1")
	got.SetKind("Kustomization")
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "new"}, got); err != nil {
		t.Fatal(err)
	}
	if got.GetResourceVersion() != rv["new"] {
		t.Errorf("Kustomization stored in v1 was rewritten (resourceVersion %s -> %s)", rv["new"], got.GetResourceVersion())
	}
	// Now the old versions can go, as gotk's CRDs drop them.
	for _, c := range []string{ksCRD, gitCRD} {
		if err := stripped(c, "v1beta2"); err != nil {
			t.Errorf("removing v1beta2 from %s after migrating: %v", c, err)
		}
	}
	// A second run finds nothing to do.
	results, err = Cluster(ctx, env.Client, disco(t), Latest())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Rewritten != 0 {
			t.Errorf("second run rewrote %d objects of %s", r.Rewritten, r.CRD)
		}
	}
}

func TestMigrateClusterRefusesUnservedTarget(t *testing.T) {
	ctx := context.Background()
	// Only an old version: gotk's storage version is not served.
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "buckets.source.toolkit.fluxcd.io"}, crd); err != nil {
		t.Fatal(err)
	}
	targets := Targets{{"source.toolkit.fluxcd.io", "Bucket"}: "v9"}
	_, err := Cluster(ctx, env.Client, disco(t), targets)
	want := fmt.Sprintf("does not serve v9")
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), crd.Name) {
		t.Fatalf("got %v, want an error naming %s and containing %q", err, crd.Name, want)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
