package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// faultsNS holds the fault suite's sources, appliers and applied objects.
const faultsNS = "faults"

// outage is how long the Git server, registry and webhook sink stay down.
const outage = time.Minute

// killsPerController is how many times each controller is SIGKILLed.
const killsPerController = 20

// faultBench is a small GitOps setup touching every controller: a Git
// source applied by a Kustomization, a HelmRelease, an image policy, and
// an alert to a webhook. Each round changes all of them.
type faultBench struct {
	git      *testserver.GitHTTP
	reg      *testserver.Registry
	sink     *testserver.WebhookSink
	stayUID  types.UID
	webUID   types.UID
	round    int
	revision string
	report   []string
}

const faultObjects = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: app, namespace: faults}
spec: {interval: 1m, url: %[1]q, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: faults}
spec:
  interval: 10m
  path: ./
  prune: true
  wait: true
  timeout: 1m
  sourceRef: {kind: GitRepository, name: app}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: faults}
spec: {interval: 10m, url: %[2]q}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: rel, namespace: faults}
spec:
  interval: 10m
  chart: {spec: {chart: podinfo, version: "1.x", sourceRef: {kind: HelmRepository, name: charts}}}
  values: {message: round-0}
  # An upgrade that fails because the API server is restarting (refused
  # connections, or RBAC answering "forbidden" until its caches fill) is
  # a failed upgrade to Helm. With the default remediation (no retries)
  # it would stay failed, as in Flux; retrying on an interval is how a
  # release is made to ride out control-plane restarts.
  upgrade: {strategy: {name: RetryOnFailure, retryInterval: 2s}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: img, namespace: faults}
spec: {image: %[3]q, interval: 10m, insecure: true}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: img, namespace: faults}
spec: {imageRepositoryRef: {name: img}, policy: {semver: {range: ">=0.0.0"}}}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: hook, namespace: faults}
spec: {type: generic, address: %[4]q}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: all, namespace: faults}
spec:
  providerRef: {name: hook}
  eventSeverity: info
  eventSources: [{kind: Kustomization, name: '*'}]
`

// appFiles is the fault suite's app at a round: a ConfigMap and a
// Deployment (which the health check waits for) that never change and
// must never be pruned or recreated, and a ConfigMap carrying the round.
func appFiles(round int) map[string]string {
	return map[string]string{
		"kustomization.yaml": "namespace: faults\nresources: [stay.yaml, round.yaml, web.yaml]\n",
		"stay.yaml":          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stay}\ndata: {kept: \"yes\"}\n",
		"round.yaml":         fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: round}\ndata: {round: %q}\n", strconv.Itoa(round)),
		"web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: example.com/web:1}]}
`,
	}
}

// TestFaults kills controllers mid-reconcile, restarts the API server
// during an apply and takes the Git server, registry and webhook sink
// down, and after each fault checks the system converges with nothing
// duplicated, orphaned or wrongly pruned. The kill points come from a
// seeded generator; the seed is printed (set E2E_FAULT_SEED to replay).
func TestFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	seed := time.Now().UnixNano()
	if s := os.Getenv("E2E_FAULT_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Logf("fault seed %d (replay with E2E_FAULT_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	f := setUpFaults(ctx, t)
	defer func() { t.Logf("faults:\n  %s", strings.Join(f.report, "\n  ")) }()
	converge := map[string][]time.Duration{}
	for i := range killsPerController * len(testenv.ControllerNames) {
		name := testenv.ControllerNames[i%len(testenv.ControllerNames)]
		delay := time.Duration(rng.IntN(600)) * time.Millisecond
		f.nextRound(ctx, t)
		// The kill point: some time into the reconciles the round started.
		<-time.After(delay)
		start := time.Now()
		if err := ctls.KillAndRestart(name); err != nil {
			fatalf(t, "%v", err)
		}
		if err := ctls.WaitControllerReady(ctx, name, time.Minute); err != nil {
			fatalf(t, "%v", err)
		}
		f.converged(ctx, t)
		converge[name] = append(converge[name], time.Since(start))
	}
	for _, name := range testenv.ControllerNames {
		ds := converge[name]
		f.report = append(f.report, fmt.Sprintf("SIGKILL %-28s ×%d mid-reconcile: survived %d/%d, converged p50 %s, max %s after the kill",
			name, len(ds), len(ds), len(ds), percentile(ds, 50).Round(time.Millisecond), percentile(ds, 100).Round(time.Millisecond)))
	}

	f.outages(ctx, t)

	// The API server dies while Helm upgrades the release (its storage
	// says pending-upgrade) and the other controllers work on the round.
	f.nextRound(ctx, t)
	during := "during a Helm upgrade"
	if err := f.helmUpgradePending(ctx, 5*time.Second); err != nil {
		during = "during the round (" + err.Error() + ")"
	}
	start := time.Now()
	if err := env.RestartAPIServer(); err != nil {
		fatalf(t, "%v", err)
	}
	f.converged(ctx, t)
	f.report = append(f.report, fmt.Sprintf("kube-apiserver restart %s: survived, converged in %s", during, time.Since(start).Round(time.Millisecond)))
}

// helmUpgradePending polls Helm's storage until the release of the
// current round is pending, at most for timeout.
func (f *faultBench) helmUpgradePending(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var secrets corev1.SecretList
		if err := env.Client.List(ctx, &secrets, client.InNamespace(faultsNS),
			client.MatchingLabels{"owner": "helm", "name": "rel", "status": "pending-upgrade"}); err == nil && len(secrets.Items) > 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("no pending upgrade seen within %s", timeout)
}

func setUpFaults(ctx context.Context, t *testing.T) *faultBench {
	f := &faultBench{
		git:  testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{}),
		reg:  testserver.NewRegistryForTest(t, testserver.RegistryOptions{}),
		sink: testserver.NewWebhookSinkForTest(t),
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: faultsNS}}); err != nil {
		fatalf(t, "%v", err)
	}
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("podinfo", "1.0.0", podinfoChart); err != nil {
		fatalf(t, "%v", err)
	}
	var err error
	if f.revision, err = f.git.CommitFiles("app", "main", appFiles(0), "round 0"); err != nil {
		fatalf(t, "%v", err)
	}
	f.pushTag(t, 0)
	applyManifests(ctx, t, fmt.Sprintf(faultObjects, f.git.URL("app"), charts.URL(), f.reg.Host()+"/faults/img", f.sink.URL()))
	f.converged(ctx, t)
	stay := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "stay"}}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "web"}}
	if err := get(ctx, stay); err != nil {
		fatalf(t, "%v", err)
	}
	if err := get(ctx, web); err != nil {
		fatalf(t, "%v", err)
	}
	f.stayUID, f.webUID = stay.UID, web.UID
	return f
}

func (f *faultBench) pushTag(t *testing.T, round int) {
	t.Helper()
	s := &seedFlow{reg: f.reg, image: f.reg.Host() + "/faults/img"}
	s.pushTag(t, fmt.Sprintf("0.0.%d", round))
}

// nextRound changes every controller's input: a commit, new Helm
// values, a new image tag; and asks for the reconciles now.
func (f *faultBench) nextRound(ctx context.Context, t *testing.T) {
	t.Helper()
	f.round++
	var err error
	if f.revision, err = f.git.CommitFiles("app", "main", appFiles(f.round), fmt.Sprintf("round %d", f.round)); err != nil {
		fatalf(t, "%v", err)
	}
	f.pushTag(t, f.round)
	values, _ := json.Marshal(map[string]any{"spec": map[string]any{"values": map[string]any{"message": fmt.Sprintf("round-%d", f.round)}}})
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "rel"}}
	if err := env.Client.Patch(ctx, hr, client.RawPatch(types.MergePatchType, values)); err != nil {
		fatalf(t, "%v", err)
	}
	for _, obj := range []client.Object{
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "app"}},
		&imagev1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "img"}},
	} {
		requestReconcile(ctx, t, obj)
	}
}

// requestReconcile sets the reconcile request annotation, as a webhook
// Receiver or `gotk reconcile` does, and returns its token.
func requestReconcile(ctx context.Context, t testing.TB, obj client.Object) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		meta.ReconcileRequestAnnotation: token}}})
	if err := env.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		fatalf(t, "%v", err)
	}
	return token
}

// converged waits until every controller's output matches the current
// round, and checks that nothing was duplicated, orphaned or pruned.
func (f *faultBench) converged(ctx context.Context, t *testing.T) {
	t.Helper()
	eventually(t, 3*time.Minute, fmt.Sprintf("round %d converged", f.round), func() error { return f.check(ctx) })
}

// check returns what does not match the current round yet, nil when
// everything does.
func (f *faultBench) check(ctx context.Context) error {
	round := strconv.Itoa(f.round)
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "app"}}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "rel"}}
	policy := &imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "img"}}
	if err := readyStatus(ctx, ks); err != nil {
		return err
	}
	if ks.Status.LastAppliedRevision != "main@sha1:"+f.revision {
		return fmt.Errorf("kustomization applied %s", ks.Status.LastAppliedRevision)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "round"}}
	if err := get(ctx, cm); err != nil || cm.Data["round"] != round {
		return fmt.Errorf("ConfigMap round: %v %v", err, cm.Data)
	}
	if err := readyStatus(ctx, hr); err != nil {
		return err
	}
	rel := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "rel-config"}}
	if err := get(ctx, rel); err != nil || rel.Data["message"] != "round-"+round {
		return fmt.Errorf("release ConfigMap: %v %v (release: %s)", err, rel.Data, conditions.GetMessage(hr, meta.ReadyCondition))
	}
	if err := latestTag(ctx, policy, "0.0."+round); err != nil {
		return err
	}
	return f.nothingLost(ctx)
}

// nothingLost: exactly the app's objects carry the Kustomization's
// labels, the ones that never change were never recreated, and Helm's
// storage holds no release stuck in a pending state.
func (f *faultBench) nothingLost(ctx context.Context) error {
	var cms corev1.ConfigMapList
	if err := env.Client.List(ctx, &cms, client.InNamespace(faultsNS), client.MatchingLabels{"kustomize.toolkit.fluxcd.io/name": "app"}); err != nil {
		return err
	}
	var names []string
	for _, cm := range cms.Items {
		names = append(names, cm.Name)
		if cm.Name == "stay" && f.stayUID != "" && cm.UID != f.stayUID {
			return fmt.Errorf("ConfigMap stay was deleted and recreated")
		}
	}
	if strings.Join(names, ",") != "round,stay" {
		return fmt.Errorf("applied ConfigMaps %v, want [round stay]", names)
	}
	var deps appsv1.DeploymentList
	if err := env.Client.List(ctx, &deps, client.InNamespace(faultsNS)); err != nil {
		return err
	}
	if len(deps.Items) != 1 || (f.webUID != "" && deps.Items[0].UID != f.webUID) {
		return fmt.Errorf("%d Deployments (want web, never recreated)", len(deps.Items))
	}
	var secrets corev1.SecretList
	if err := env.Client.List(ctx, &secrets, client.InNamespace(faultsNS), client.MatchingLabels{"owner": "helm"}); err != nil {
		return err
	}
	for _, s := range secrets.Items {
		if strings.HasPrefix(s.Labels["status"], "pending") {
			return fmt.Errorf("release %s is stuck %s", s.Name, s.Labels["status"])
		}
	}
	return nil
}

// outages takes the Git server and the registry down and has the webhook
// sink answer 500, all for one minute: each failure is reported in a
// condition or event, retries are bounded, nothing applied is pruned,
// and everything converges once they are back.
func (f *faultBench) outages(ctx context.Context, t *testing.T) {
	f.round++
	f.pushTag(t, f.round) // while the registry is still up
	f.git.SetDown(true)
	f.reg.SetDown(true)
	f.sink.SetStatus(500, "down")
	start := time.Now()
	var err error
	if f.revision, err = f.git.CommitFiles("app", "main", appFiles(f.round), fmt.Sprintf("round %d", f.round)); err != nil {
		fatalf(t, "%v", err)
	}
	values, _ := json.Marshal(map[string]any{"spec": map[string]any{"values": map[string]any{"message": fmt.Sprintf("round-%d", f.round)}}})
	if err := env.Client.Patch(ctx, &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "rel"}},
		client.RawPatch(types.MergePatchType, values)); err != nil {
		fatalf(t, "%v", err)
	}
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "app"}}
	img := &imagev1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "img"}}
	requestReconcile(ctx, t, src)
	requestReconcile(ctx, t, img)
	for _, obj := range []conditions.Setter{src, img} {
		eventually(t, time.Minute, "outage reported", func() error {
			if err := get(ctx, obj); err != nil {
				return err
			}
			if conditions.IsFalse(obj, meta.ReadyCondition) {
				return nil
			}
			return fmt.Errorf("Ready %s", conditions.GetMessage(obj, meta.ReadyCondition))
		})
		f.report = append(f.report, fmt.Sprintf("outage: %T Ready=False %s: %s", obj, conditions.GetReason(obj, meta.ReadyCondition),
			conditions.GetMessage(obj, meta.ReadyCondition)))
	}

	// An event while the sink fails: drift undone (a deleted object).
	before := len(f.sink.Requests())
	if err := env.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "round"}}); err != nil {
		fatalf(t, "%v", err)
	}
	eventually(t, time.Minute, "failed delivery reported on the Alert", func() error {
		var events corev1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(faultsNS)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "Alert" && e.Type == corev1.EventTypeWarning {
				f.report = append(f.report, fmt.Sprintf("outage: webhook 500 → Warning event on Alert/%s: %s", e.InvolvedObject.Name, e.Message))
				return nil
			}
		}
		return fmt.Errorf("no Warning event on the Alert")
	})
	if err := f.nothingLostDuringOutage(ctx); err != nil {
		fatalf(t, "%v", err)
	}

	// The rest of the minute, then everything comes back.
	<-time.After(outage - time.Since(start))
	attempts := len(f.sink.Requests()) - before
	messages := map[string]bool{}
	for _, r := range f.sink.Requests()[before:] {
		messages[string(r.Body)] = true
	}
	if attempts > 4*len(messages) {
		t.Errorf("%d delivery attempts for %d messages: retries are not bounded", attempts, len(messages))
	}
	f.git.SetDown(false)
	f.reg.SetDown(false)
	f.sink.SetStatus(200, "ok")
	back := time.Now()
	delivered := len(f.sink.Requests())
	f.converged(ctx, t)
	eventually(t, time.Minute, "events delivered again", func() error {
		if len(f.sink.Requests()) > delivered {
			return nil
		}
		return fmt.Errorf("nothing delivered since the sink came back")
	})
	f.report = append(f.report, fmt.Sprintf("Git server, registry down and webhook 500 for %s (%d attempts for %d messages): survived, converged %s after they came back",
		outage, attempts, len(messages), time.Since(back).Round(time.Millisecond)))
}

// nothingLostDuringOutage: the objects applied before the outage are all
// still there, with the same identity.
func (f *faultBench) nothingLostDuringOutage(ctx context.Context) error {
	stay := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "stay"}}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: faultsNS, Name: "web"}}
	if err := get(ctx, stay); err != nil || stay.UID != f.stayUID {
		return fmt.Errorf("ConfigMap stay lost during the outage: %v", err)
	}
	if err := get(ctx, web); err != nil || web.UID != f.webUID {
		return fmt.Errorf("Deployment web lost during the outage: %v", err)
	}
	return nil
}
