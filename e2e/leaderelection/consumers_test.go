package leaderelection

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/testserver"
)

// The consumers' sources carry no shard key: the main source-controller
// instance of TestMain serves them.

// TestLeaderElectionKustomizeController: a Kustomization applies its
// ConfigMap under the first leader, another one under the next.
func TestLeaderElectionKustomizeController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	files := map[string]string{}
	for _, name := range []string{"before", "after"} {
		files[name+"/cm.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {by: kustomize}\n", name)
	}
	if _, err := git.CommitFiles("app", "main", files, "two apps"); err != nil {
		t.Fatal(err)
	}
	story{
		controller: "kustomize-controller",
		reconciled: func(ctx context.Context, t *testing.T, p *pair, name string) func() error {
			applyYAML(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: app, namespace: %[1]s}
spec: {interval: 1h, url: %[3]q, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: %[2]s, namespace: %[1]s}
spec: {interval: 1h, path: ./%[2]s, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: app}}
`, p.ns, name, git.URL("app")))
			ks := &kustomizev1.Kustomization{}
			ks.Namespace, ks.Name = p.ns, name
			return func() error {
				if err := ready(ctx, ks); err != nil {
					return err
				}
				return env.Client.Get(ctx, client.ObjectKey{Namespace: p.ns, Name: name}, &corev1.ConfigMap{})
			}
		},
	}.run(ctx, t)
}

// TestLeaderElectionHelmController: a HelmRelease installs its chart
// under the first leader, another one under the next.
func TestLeaderElectionHelmController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("podinfo", "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	story{
		controller: "helm-controller",
		reconciled: func(ctx context.Context, t *testing.T, p *pair, name string) func() error {
			applyYAML(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: %[1]s}
spec: {interval: 1h, url: %[3]q}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  interval: 1h
  chart: {spec: {chart: podinfo, version: "1.0.0", sourceRef: {kind: HelmRepository, name: charts}}}
  values: {message: %[2]s}
`, p.ns, name, charts.URL()))
			hr := &helmv2.HelmRelease{}
			hr.Namespace, hr.Name = p.ns, name
			return func() error {
				if err := ready(ctx, hr); err != nil {
					return err
				}
				// DefaultChartTemplate's ConfigMap.
				return env.Client.Get(ctx, client.ObjectKey{Namespace: p.ns, Name: name + "-podinfo"}, &corev1.ConfigMap{})
			}
		},
	}.run(ctx, t)
}

// TestLeaderElectionImageAutomationController: an ImageRepository is
// scanned and its ImagePolicy picks a tag under the first leader,
// another pair under the next.
func TestLeaderElectionImageAutomationController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	story{
		controller: "image-automation-controller",
		reconciled: func(ctx context.Context, t *testing.T, p *pair, name string) func() error {
			testserver.PushRandomImage(t, reg.Host()+"/"+name+":1.0.0", nil)
			applyYAML(ctx, t, fmt.Sprintf(`apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: %[2]s, namespace: %[1]s}
spec: {image: %[3]q, interval: 1h, insecure: true}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: %[2]s, namespace: %[1]s}
spec: {imageRepositoryRef: {name: %[2]s}, policy: {semver: {range: ">=0.0.0"}}}
`, p.ns, name, reg.Host()+"/"+name))
			policy := &imagev1.ImagePolicy{}
			policy.Namespace, policy.Name = p.ns, name
			return func() error {
				if err := ready(ctx, policy); err != nil {
					return err
				}
				if policy.Status.LatestRef == nil || policy.Status.LatestRef.Tag != "1.0.0" {
					return fmt.Errorf("latest %+v", policy.Status.LatestRef)
				}
				return nil
			}
		},
	}.run(ctx, t)
}

// TestLeaderElectionNotificationController: a Receiver gets its webhook
// path under the first leader, another one under the next.
func TestLeaderElectionNotificationController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	story{
		controller: "notification-controller",
		reconciled: func(ctx context.Context, t *testing.T, p *pair, name string) func() error {
			applyYAML(ctx, t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %[2]s-token, namespace: %[1]s}
stringData: {token: %[2]s-secret}
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  type: github
  secretRef: {name: %[2]s-token}
  resources: [{kind: GitRepository, name: app}]
`, p.ns, name))
			recv := &notificationv1.Receiver{}
			recv.Namespace, recv.Name = p.ns, name
			return func() error {
				if err := ready(ctx, recv); err != nil {
					return err
				}
				if want := recv.GetWebhookPath(name + "-secret"); recv.Status.WebhookPath != want {
					return fmt.Errorf("webhook path %q, want %q", recv.Status.WebhookPath, want)
				}
				return nil
			}
		},
	}.run(ctx, t)
}
