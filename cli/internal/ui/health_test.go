package ui

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestInventoryHealth: each inventory object shows its kstatus, read from
// the API server: present and settled, still rolling out, or gone.
func TestInventoryHealth(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	labels := map[string]string{"app": "web"}
	for _, o := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"a": "b"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}}}}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	ks := kustomization(t, ns, "apps", metav1.ConditionTrue, "applied")
	ks.Status.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
		{ID: ns + "_settings__ConfigMap", Version: "v1"},
		{ID: ns + "_web_apps_Deployment", Version: "v1"},
		{ID: ns + "_gone__Service", Version: "v1"},
	}}
	if err := env.Client.Status().Update(ctx, ks); err != nil {
		t.Fatal(err)
	}
	b := open(t, env.Config, "")
	body := b.eventually(t, "/objects/kustomization/"+ns+"/apps", `id="inventory"`)
	for _, want := range []string{
		`<td>settings</td>` + "\n" + `<td>v1</td><td><span class="ks ks-current">Current</span>`,
		`<td>web</td>` + "\n" + `<td>apps/v1</td><td><span class="ks ks-inprogress">InProgress</span>`,
		`<td>gone</td>` + "\n" + `<td>v1</td><td><span class="ks ks-notfound">NotFound</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the inventory lacks %q:\n%s", want, body)
		}
	}
}
