package containers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testserver"
)

// TestRemoteBasesFromImage: kustomize-controller's image holds no git
// program, yet with --no-remote-bases=false a Kustomization whose
// kustomization.yaml names a remote base on a Git server applies it (the
// controller binary answers as git for kustomize's loader), and a missing
// ref fails with the ref named.
func TestRemoteBasesFromImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	if _, err := git.CommitFiles("bases", "main", map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-remote-base}\ndata: {by: remote-base}\n",
	}, "base"); err != nil {
		t.Fatal(err)
	}
	base := git.URL("bases") + "//app?ref="
	if _, err := git.CommitFiles("overlays", "main", map[string]string{
		"ok/kustomization.yaml":  "resources:\n- " + base + "main\n",
		"bad/kustomization.yaml": "resources:\n- " + base + "nope\n",
	}, "overlays"); err != nil {
		t.Fatal(err)
	}
	applyText(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: overlays, namespace: %[1]s}
spec: {interval: 1h, url: %[2]q, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: remote-base-ok, namespace: %[1]s}
spec: {interval: 1h, path: ./ok, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: overlays}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: remote-base-bad, namespace: %[1]s}
spec: {interval: 1h, path: ./bad, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: overlays}}
`, ns, git.URL("overlays")), nil)

	ok := &kustomizev1.Kustomization{}
	ok.Namespace, ok.Name = ns, "remote-base-ok"
	took := eventually(t, 2*time.Minute, "the remote base applied", func() error { return readyStatus(ctx, ok) })
	t.Logf("Kustomization with a remote base Ready in %s", took.Round(time.Millisecond))
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "from-remote-base"}, &cm); err != nil || cm.Data["by"] != "remote-base" {
		t.Fatalf("ConfigMap from the remote base: %v, data %v", err, cm.Data)
	}

	bad := &kustomizev1.Kustomization{}
	bad.Namespace, bad.Name = ns, "remote-base-bad"
	eventually(t, 2*time.Minute, "the missing ref named", func() error {
		if err := get(ctx, bad); err != nil {
			return err
		}
		msg := conditions.GetMessage(bad, meta.ReadyCondition)
		if !conditions.IsFalse(bad, meta.ReadyCondition) || !strings.Contains(msg, "ref 'nope' not found on the remote") {
			return fmt.Errorf("Ready: %s", msg)
		}
		return nil
	})
}
