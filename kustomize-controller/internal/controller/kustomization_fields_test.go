package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// fieldsSource is the artifact of TestKustomizationFields: a ConfigMap
// with a variable that has a default, a Deployment whose image the
// images field can set, and a component that adds a label.
func fieldsSource(ns string) map[string]string {
	return map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml, deploy.yaml]\n",
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: " + ns +
			"\ndata:\n  greeting: ${greeting:=hello}\n",
		"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ` + ns + `
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example.com/web:1
`,
		"app/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs: {comp: \"yes\"}\n",
	}
}

// TestKustomizationFields: each case applies the same source with one
// Kustomization field set and checks what the field changes in the
// cluster.
func TestKustomizationFields(t *testing.T) {
	ctx := context.Background()
	cm := func(t *testing.T, ns, name string) *corev1.ConfigMap {
		t.Helper()
		out := &corev1.ConfigMap{}
		NewWithT(t).Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, out)).To(Succeed())
		return out
	}
	ready := func(t *testing.T, ks *kustomizev1.Kustomization) {
		waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 60*time.Second)
	}
	cases := []struct {
		name string
		// otherNS puts the source in another namespace that
		// sourceRef.namespace names.
		otherNS bool
		mutate  func(ks *kustomizev1.Kustomization)
		check   func(t *testing.T, ks *kustomizev1.Kustomization, ns string)
	}{
		{name: "sourceRef namespace", otherNS: true,
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				cm(t, ns, "cfg")
			}},
		{name: "defaults leave variables alone",
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(cm(t, ns, "cfg").Data["greeting"]).To(Equal("${greeting:=hello}"))
			}},
		{name: "namePrefix", mutate: func(ks *kustomizev1.Kustomization) { ks.Spec.NamePrefix = "p-" },
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				cm(t, ns, "p-cfg")
				NewWithT(t).Expect(exists(configMapGVK, ns, "cfg")).To(BeFalse())
			}},
		{name: "nameSuffix", mutate: func(ks *kustomizev1.Kustomization) { ks.Spec.NameSuffix = "-s" },
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				cm(t, ns, "cfg-s")
			}},
		{name: "images", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.Images = []kustomize.Image{{Name: "example.com/web", NewName: "registry.example.com/web", NewTag: "2"}}
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				d := &appsv1.Deployment{}
				g := NewWithT(t)
				g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d)).To(Succeed())
				g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example.com/web:2"))
			}},
		{name: "patches", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.Patches = []kustomize.Patch{{Patch: `[{"op":"add","path":"/data/patched","value":"yes"}]`,
				Target: &kustomize.Selector{Kind: "ConfigMap", Name: "cfg"}}}
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(cm(t, ns, "cfg").Data).To(HaveKeyWithValue("patched", "yes"))
			}},
		{name: "components", mutate: func(ks *kustomizev1.Kustomization) { ks.Spec.Components = []string{"comp"} },
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(cm(t, ns, "cfg").Labels).To(HaveKeyWithValue("comp", "yes"))
			}},
		{name: "missing component fails", mutate: func(ks *kustomizev1.Kustomization) { ks.Spec.Components = []string{"nope"} },
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				NewWithT(t).Eventually(func(g Gomega) {
					cur := &kustomizev1.Kustomization{}
					g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ks), cur)).To(Succeed())
					g.Expect(conditions.IsFalse(cur, meta.ReadyCondition)).To(BeTrue())
					g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring(`"nope"`))
				}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
			}},
		{name: "ignoreMissingComponents", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.Components = []string{"nope", "comp"}
			ks.Spec.IgnoreMissingComponents = true
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(cm(t, ns, "cfg").Labels).To(HaveKeyWithValue("comp", "yes"))
			}},
		{name: "commonMetadata labels", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.CommonMetadata = &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "web"}}
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(cm(t, ns, "cfg").Labels).To(HaveKeyWithValue("team", "web"))
			}},
		{name: "substituteStrategy Always", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.PostBuild = &kustomizev1.PostBuild{SubstituteStrategy: kustomizev1.SubstituteStrategyAlways}
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(cm(t, ns, "cfg").Data["greeting"]).To(Equal("hello"))
			}},
		{name: "suspend", mutate: func(ks *kustomizev1.Kustomization) { ks.Spec.Suspend = true },
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				g := NewWithT(t)
				g.Consistently(func() bool { return exists(configMapGVK, ns, "cfg") }, 3*time.Second, 200*time.Millisecond).Should(BeFalse())
				g.Eventually(func() error {
					cur := &kustomizev1.Kustomization{}
					if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ks), cur); err != nil {
						return err
					}
					cur.Spec.Suspend = false
					return env.Client.Update(ctx, cur)
				}, 10*time.Second).Should(Succeed())
				ready(t, ks)
				cm(t, ns, "cfg")
			}},
		{name: "drift is corrected by default",
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				editGreeting(t, ns)
				waitHandled(t, ks, requestReconcile(t, ks))
				NewWithT(t).Expect(cm(t, ns, "cfg").Data["greeting"]).To(Equal("${greeting:=hello}"))
			}},
		{name: "ignore paths of a target", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.Ignore = []kustomizev1.IgnoreRule{{Paths: []string{"/data/greeting"},
				Target: &kustomize.Selector{Kind: "ConfigMap", Name: "cfg"}}}
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				editGreeting(t, ns)
				waitHandled(t, ks, requestReconcile(t, ks))
				NewWithT(t).Expect(cm(t, ns, "cfg").Data["greeting"]).To(Equal("edited"))
			}},
		{name: "ignore rule of another target", mutate: func(ks *kustomizev1.Kustomization) {
			ks.Spec.Ignore = []kustomizev1.IgnoreRule{{Paths: []string{"/data/greeting"},
				Target: &kustomize.Selector{Kind: "Deployment"}}}
		},
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				editGreeting(t, ns)
				waitHandled(t, ks, requestReconcile(t, ks))
				NewWithT(t).Expect(cm(t, ns, "cfg").Data["greeting"]).To(Equal("${greeting:=hello}"))
			}},
		{name: "deletionPolicy default prunes on deletion",
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				NewWithT(t).Expect(env.Client.Delete(ctx, ks)).To(Succeed())
				NewWithT(t).Eventually(func() bool { return exists(configMapGVK, ns, "cfg") }, 60*time.Second, 200*time.Millisecond).Should(BeFalse())
			}},
		{name: "deletionPolicy Orphan", mutate: func(ks *kustomizev1.Kustomization) { ks.Spec.DeletionPolicy = kustomizev1.DeletionPolicyOrphan },
			check: func(t *testing.T, ks *kustomizev1.Kustomization, ns string) {
				ready(t, ks)
				g := NewWithT(t)
				g.Expect(env.Client.Delete(ctx, ks)).To(Succeed())
				g.Eventually(func() bool {
					return exists(kustomizev1.GroupVersion.WithKind("Kustomization"), ns, ks.Name)
				}, 60*time.Second, 200*time.Millisecond).Should(BeFalse())
				g.Expect(exists(configMapGVK, ns, "cfg")).To(BeTrue(), "the objects are left in the cluster")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := env.NewNamespace(t)
			srcNS := ns
			if tc.otherNS {
				srcNS = env.NewNamespace(t)
			}
			newGitRepository(t, srcNS, "repo", publish(t, fieldsSource(ns)))
			ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) {
				ks.Spec.Path = "app"
				if tc.otherNS {
					ks.Spec.SourceRef.Namespace = srcNS
				}
				if tc.mutate != nil {
					tc.mutate(ks)
				}
			})
			tc.check(t, ks, ns)
		})
	}
}

// editGreeting changes the applied ConfigMap as a human with kubectl would.
func editGreeting(t *testing.T, ns string) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &corev1.ConfigMap{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "cfg"}, cur); err != nil {
			return err
		}
		cur.Data["greeting"] = "edited"
		return env.Client.Update(context.Background(), cur)
	}, 10*time.Second).Should(Succeed())
}
