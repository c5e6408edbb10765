package testenv_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) {
	testenv.Main(m, &env, testenv.WithWorkloads(), testenv.WithStages(testenv.PodExitStages...))
}

func TestServerReportsPinnedVersion(t *testing.T) {
	g := NewWithT(t)
	info, err := discoveryVersion(env)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info).To(Equal("v1.37.2"), "Helm charts check kubeVersion against the reported version")
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
	g.Expect(env.Client.Create(ctx, dep)).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
		g.Expect(dep.Status.AvailableReplicas).To(Equal(int32(3)))
		g.Expect(deploymentCondition(dep, appsv1.DeploymentAvailable)).To(Equal(corev1.ConditionTrue))
	}, 60*time.Second, 250*time.Millisecond).Should(Succeed())

	var pods corev1.PodList
	g.Expect(env.Client.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	g.Expect(pods.Items).To(HaveLen(3))
	for _, p := range pods.Items {
		g.Expect(p.Spec.NodeName).To(Equal(testenv.FakeNodeName))
		g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
	}
}

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) corev1.ConditionStatus {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// TestBarePodsFinishAsAnnotated proves tests can make a Helm test or hook
// Pod succeed or fail.
func TestBarePodsFinishAsAnnotated(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	for code, phase := range map[string]corev1.PodPhase{"0": corev1.PodSucceeded, "1": corev1.PodFailed} {
		g := NewWithT(t)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "exit-" + code, Namespace: ns, Annotations: map[string]string{testenv.ExitAnnotation: code}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "test", Image: "busybox"}}},
		}
		g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Status.Phase).To(Equal(phase))
		}, 60*time.Second, 250*time.Millisecond).Should(Succeed(), "pod annotated %s", code)
	}
}

// TestRestartAPIServer: after a restart the same clients, kubeconfig and
// objects work again (the stored state lives in etcd, which stays up).
func TestRestartAPIServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kept"}}
	g.Expect(env.Client.Create(ctx, cm)).To(Succeed())
	g.Expect(env.RestartAPIServer()).To(Succeed())
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}
