package takeover

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

func yamlInto(text string, u *unstructured.Unstructured) error {
	return yaml.Unmarshal([]byte(text), &u.Object)
}

// gotk runs the gotk binary against the cluster.
func gotk(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(suite.BinDir, "cli"), append([]string{"--kubeconfig", suite.Env.Kubeconfig, "--timeout", "90s"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestTakeoverRefusedWithoutFlag(t *testing.T) {
	ctx := context.Background()
	c := suite.Env.Client
	fluxDeployments(ctx, t, c)
	out, err := gotk(ctx, "install")
	if err == nil || !strings.Contains(out, "flux is running in this cluster") || !strings.Contains(out, "--takeover") {
		t.Fatalf("install over Flux: err %v, output\n%s\nwant a refusal naming --takeover", err, out)
	}
	for name := range fluxControllers {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[0].Image != fluxControllers[name] {
			t.Errorf("the refused install changed Flux's %s", name)
		}
	}
}

// auditEvent is the part of an audit.k8s.io/v1 Event the test reads.
type auditEvent struct {
	Verb       string                    `json:"verb"`
	RequestURI string                    `json:"requestURI"`
	User       struct{ Username string } `json:"user"`
	ObjectRef  *struct {
		Resource, Namespace, Name, Subresource string
	} `json:"objectRef"`
	ResponseStatus *struct{ Code int } `json:"responseStatus"`
	UserAgent      string              `json:"userAgent"`
}

// writes reads the audit events after offset that changed something.
func writes(t *testing.T, offset int64) []auditEvent {
	t.Helper()
	f, err := os.Open(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		// A dry-run (how appliers compare) changes nothing.
		if e.ObjectRef == nil || e.ResponseStatus == nil || e.ResponseStatus.Code >= 300 || strings.Contains(e.RequestURI, "dryRun=") {
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func auditSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestTakeover builds 100 Kustomizations and 20 HelmReleases as Flux 2.9
// leaves them, runs `gotk install --takeover`, starts gotk's controllers
// and waits until each object was reconciled by them: not one write may
// reach an object Flux applied, nothing is pruned and Helm runs no action.
func TestTakeover(t *testing.T) {
	ctx := context.Background()
	c := suite.Env.Client
	fc := buildFlux(ctx, t, 100, 20)

	offset := auditSize(t)
	start := time.Now()
	out, err := gotk(ctx, "install", "--takeover")
	if err != nil {
		t.Fatalf("gotk install --takeover: %v\n%s", err, out)
	}
	installTime := time.Since(start)
	t.Logf("gotk install --takeover:\n%s", out)

	// The CRDs are gotk's: old versions gone, storedVersions trimmed.
	for _, name := range []string{"kustomizations.kustomize.toolkit.fluxcd.io", "helmreleases.helm.toolkit.fluxcd.io"} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			t.Fatal(err)
		}
		var served []string
		for _, v := range crd.Spec.Versions {
			served = append(served, v.Name)
		}
		if len(crd.Status.StoredVersions) != 1 || len(served) != 1 || served[0] != crd.Status.StoredVersions[0] {
			t.Errorf("%s: versions %v, storedVersions %v; want gotk's one version", name, served, crd.Status.StoredVersions)
		}
	}

	controllersStart := time.Now()
	ctls, err := testenv.StartControllers(ctx, testenv.ControllersOptions{BinDir: suite.BinDir, StateDir: suite.StateDir,
		Kubeconfig: suite.Env.Kubeconfig, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer ctls.Stop()

	// Ask every object for a reconcile and wait until gotk handled it.
	token := time.Now().Format(time.RFC3339Nano)
	var objs []conditions.Setter
	for i := range fc.ks {
		objs = append(objs, &kustomizev1.Kustomization{})
		objs[len(objs)-1].SetNamespace(ns)
		objs[len(objs)-1].SetName(fmt.Sprintf("ks-%d", i))
	}
	for i := range fc.hr {
		objs = append(objs, &helmv2.HelmRelease{})
		objs[len(objs)-1].SetNamespace(ns)
		objs[len(objs)-1].SetName(fmt.Sprintf("hr-%d", i))
	}
	for _, o := range objs {
		patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, token)))
		if err := c.Patch(ctx, o, patch); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 3*time.Minute, "every Kustomization and HelmRelease reconciled by gotk", func() error {
		pending := 0
		var last string
		for _, o := range objs {
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return err
			}
			handled := ""
			switch v := o.(type) {
			case *kustomizev1.Kustomization:
				handled = v.Status.LastHandledReconcileAt
			case *helmv2.HelmRelease:
				handled = v.Status.LastHandledReconcileAt
			}
			if handled != token || !conditions.IsReady(o) {
				pending++
				last = fmt.Sprintf("%T %s: handled %q, ready %s", o, o.GetName(), handled, conditions.GetMessage(o, meta.ReadyCondition))
			}
		}
		if pending > 0 {
			return fmt.Errorf("%d pending, e.g. %s", pending, last)
		}
		return nil
	})

	adopted := time.Since(controllersStart)
	var appliedWrites, prunes, helmActions, total int
	byResource := map[string]int{}
	var examples []string
	for _, e := range writes(t, offset) {
		r := e.ObjectRef
		total++
		byResource[r.Resource]++
		key := r.Resource + "/" + r.Name
		switch {
		case r.Namespace == appsNS && fc.applied[key]:
			appliedWrites++
			examples = append(examples, fmt.Sprintf("%s %s/%s by %s", e.Verb, r.Namespace, key, e.UserAgent))
		case r.Resource == "secrets" && strings.HasPrefix(r.Name, "sh.helm.release.v1."):
			helmActions++
			examples = append(examples, fmt.Sprintf("%s secret %s/%s (Helm storage)", e.Verb, r.Namespace, r.Name))
		}
		if e.Verb == "delete" && r.Namespace == appsNS {
			prunes++
			examples = append(examples, fmt.Sprintf("delete %s/%s", r.Namespace, key))
		}
	}
	t.Logf("takeover of %d Kustomizations and %d HelmReleases: install --takeover %s, every object reconciled by gotk's controllers %s after they started; %d writes in all %v, %d to applied objects, %d prunes, %d Helm storage writes",
		fc.ks, fc.hr, installTime.Round(time.Millisecond), adopted.Round(time.Millisecond), total, byResource, appliedWrites, prunes, helmActions)
	if appliedWrites+prunes+helmActions > 0 {
		slices.Sort(examples)
		t.Errorf("the takeover wrote to what Flux applied: %d writes, %d prunes, %d Helm actions:\n%s", appliedWrites, prunes, helmActions, strings.Join(examples, "\n"))
	}
	// Flux's controllers are gone; gotk's run in their place.
	for name := range fluxControllers {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; strings.Contains(img, "/fluxcd/") {
			t.Errorf("%s still runs Flux's image %s", name, img)
		}
	}
}
