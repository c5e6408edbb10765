package ui

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestOverviewControllers: the overview shows each controller's
// Deployment as ready, not ready or absent.
func TestOverviewControllers(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	deploy := func(name string, available int32) {
		labels := map[string]string{"app": name}
		one := int32(1)
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "gotk:dev"}}}}}}
		if err := env.Client.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1,
			AvailableReplicas: available, ReadyReplicas: available}
		if err := env.Client.Status().Update(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	deploy("source-controller", 1)
	deploy("kustomize-controller", 0)
	b := open(t, env.Config, "")
	b.srv.opts.SystemNamespace = ns
	body := b.eventually(t, "/", `id="controllers"`)
	for _, want := range []string{
		`<td>source-controller</td><td><span class="st st-ready">Ready</span></td><td class="msg">1/1 replicas available</td>`,
		`<td>kustomize-controller</td><td><span class="st st-notready">NotReady</span></td><td class="msg">0/1 replicas available</td>`,
		`<td>helm-controller</td><td><span class="st st-absent">Absent</span></td><td class="msg">not installed in ` + ns + `</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the overview lacks %q:\n%s", want, body)
		}
	}
}
