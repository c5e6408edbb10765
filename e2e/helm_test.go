package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/testserver"
)

// podinfoChart renders a ConfigMap from values; `fail: true` adds an
// object the API server rejects, so an upgrade with it fails.
var podinfoChart = map[string]string{
	"values.yaml": "message: hello\nfail: false\n",
	"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  message: {{ .Values.message | quote }}
{{- if .Values.fail }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: Invalid_Name_{{ .Release.Name }}
{{- end }}
`,
}

const helmObjects = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: flux-system
spec:
  interval: 10m
  url: %s
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m
  targetNamespace: production
  chart:
    spec:
      chart: podinfo
      version: "1.x"
      sourceRef:
        kind: HelmRepository
        name: charts
  upgrade:
    remediation:
      retries: 1
      strategy: rollback
  values:
    message: %s
    fail: %t
`

// helmRelease installs a chart from a Helm repository, upgrades it with
// new values, and rolls back a broken upgrade by remediation.
func (s *seedFlow) helmRelease(ctx context.Context, t *testing.T) {
	repo := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := repo.AddChart("podinfo", "1.0.0", podinfoChart); err != nil {
		t.Fatal(err)
	}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podinfo"}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "production-podinfo-config"}}
	apply := func(message string, fail bool) {
		applyManifests(ctx, t, fmt.Sprintf(helmObjects, repo.URL(), message, fail))
	}
	released := func(message string) func() error {
		return func() error {
			if err := readyStatus(ctx, hr); err != nil {
				return err
			}
			if err := get(ctx, cm); err != nil {
				return err
			}
			if cm.Data["message"] != message {
				return fmt.Errorf("message %q", cm.Data["message"])
			}
			return nil
		}
	}

	apply("hello", false)
	took := eventually(t, 2*time.Minute, "install", released("hello"))
	t.Logf("HelmRepository + HelmRelease → installed in %s", took.Round(time.Millisecond))

	apply("upgraded", false)
	took = eventually(t, 2*time.Minute, "upgrade", released("upgraded"))
	t.Logf("values change → upgraded in %s", took.Round(time.Millisecond))

	apply("broken", true)
	took = eventually(t, 2*time.Minute, "rollback", func() error {
		if err := get(ctx, hr); err != nil {
			return err
		}
		if conditions.GetReason(hr, helmv2.RemediatedCondition) != helmv2.RollbackSucceededReason {
			return fmt.Errorf("Remediated %s: %s (Ready: %s)", conditions.GetReason(hr, helmv2.RemediatedCondition),
				conditions.GetMessage(hr, helmv2.RemediatedCondition), conditions.GetMessage(hr, meta.ReadyCondition))
		}
		return nil
	})
	if err := get(ctx, cm); err != nil || cm.Data["message"] != "upgraded" {
		t.Fatalf("after the rollback: %v, message %q", err, cm.Data["message"])
	}
	if msg := conditions.GetMessage(hr, meta.ReadyCondition); !strings.Contains(msg, "Invalid_Name_") {
		t.Errorf("Ready does not quote Helm's error: %s", msg)
	}
	t.Logf("broken upgrade → rolled back in %s", took.Round(time.Millisecond))
}

// alerts is the guide's §3.4: the events of the phases before reached
// the Slack webhook in Slack's format, and none matching the Alert's
// exclusion `.*upgrade.*` did.
func (s *seedFlow) alerts(ctx context.Context, t *testing.T) {
	var kustomization, helmRelease int
	eventually(t, time.Minute, "events of both kinds", func() error {
		kustomization, helmRelease = 0, 0
		for _, r := range s.sink.Requests() {
			if err := testserver.SlackMessage(r.Body); err != nil {
				return fmt.Errorf("not a Slack message: %v: %s", err, r.Body)
			}
			body := string(r.Body)
			if strings.Contains(body, "upgrade") {
				t.Fatalf("an excluded message reached Slack: %s", body)
			}
			switch {
			case strings.Contains(body, "kustomization/my-app"), strings.Contains(body, "Kustomization/my-app"):
				kustomization++
			case strings.Contains(body, "helmrelease/podinfo"), strings.Contains(body, "HelmRelease/podinfo"):
				helmRelease++
			}
		}
		if kustomization == 0 || helmRelease == 0 {
			return fmt.Errorf("%d Kustomization and %d HelmRelease messages of %d", kustomization, helmRelease, len(s.sink.Requests()))
		}
		return nil
	})
	t.Logf("Slack received %d Kustomization and %d HelmRelease messages, none matching .*upgrade.*", kustomization, helmRelease)
}
