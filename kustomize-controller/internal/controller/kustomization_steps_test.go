package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/runtime/reconcile"
)

// TestSourceStep calls the source step directly for each bad input.
func TestSourceStep(t *testing.T) {
	ns := env.NewNamespace(t)
	other := env.NewNamespace(t)
	newGitRepository(t, ns, "empty", nil)
	newGitRepository(t, other, "elsewhere", publish(t, map[string]string{"a.yaml": configMap(ns, "a", "")}))
	bad := publish(t, map[string]string{"a.yaml": configMap(ns, "a", "")})
	bad.Digest = "sha256:" + strings.Repeat("0", 64)
	newGitRepository(t, ns, "tampered", bad)

	tests := []struct {
		name      string
		ref       kustomizev1.CrossNamespaceSourceReference
		noCrossNs bool
		class     reconcile.Class
		reason    string
		msg       string
	}{
		{name: "missing source", ref: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "nope"},
			class: reconcile.Waiting, reason: kustomizev1.ArtifactFailedReason, msg: "Source GitRepository/" + ns + "/nope not found"},
		{name: "no artifact yet", ref: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "empty"},
			class: reconcile.Waiting, reason: kustomizev1.ArtifactFailedReason, msg: "is not ready, artifact not found"},
		{name: "cross-namespace refused", ref: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "elsewhere", Namespace: other},
			noCrossNs: true, class: reconcile.Stalling, reason: acl.AccessDeniedReason, msg: "--no-cross-namespace-refs"},
		{name: "unsupported kind", ref: kustomizev1.CrossNamespaceSourceReference{Kind: "HelmRepository", Name: "x"},
			class: reconcile.Stalling, reason: kustomizev1.ArtifactFailedReason, msg: `source kind "HelmRepository" is not supported`},
		{name: "digest mismatch", ref: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "tampered"},
			class: reconcile.Transient, reason: kustomizev1.ArtifactFailedReason, msg: "digest mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := newReconciler(env.Client, env.Client, nil)
			r.NoCrossNamespaceRefs = tt.noCrossNs
			r.Artifacts.Fetcher.Retries = 0
			obj := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ks"}, Spec: kustomizev1.KustomizationSpec{SourceRef: tt.ref}}
			err := (&kustomizationRun{r: r}).source(context.Background(), obj)
			var e *reconcile.Error
			g.Expect(errors.As(err, &e)).To(BeTrue(), "error %v", err)
			g.Expect(e.Class).To(Equal(tt.class))
			g.Expect(e.Reason).To(Equal(tt.reason))
			g.Expect(e.Error()).To(ContainSubstring(tt.msg))
		})
	}

	t.Run("cross-namespace allowed by default", func(t *testing.T) {
		g := NewWithT(t)
		obj := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ks"},
			Spec: kustomizev1.KustomizationSpec{SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "elsewhere", Namespace: other}}}
		rn := &kustomizationRun{r: newReconciler(env.Client, env.Client, nil)}
		g.Expect(rn.source(context.Background(), obj)).To(Succeed())
		g.Expect(rn.files.Paths()).To(ConsistOf("a.yaml"))
		g.Expect(obj.Status.LastAttemptedRevision).To(HavePrefix("main@sha1:"))
	})
}

func TestDependsOn(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{
		"infra/cm.yaml": configMap(ns, "infra", ""),
		"apps/cm.yaml":  configMap(ns, "app", ""),
	}))
	// apps waits for infra, which does not exist yet.
	apps := newKustomization(t, ns, "apps", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "apps"
		ks.Spec.DependsOn = []meta.DependencyReference{{Name: "infra"}}
	})
	cur := waitReady(t, apps, metav1.ConditionFalse, kustomizev1.DependencyNotReadyReason, 30*time.Second)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("dependency '" + ns + "/infra' not found"))
	g.Expect(exists(configMapGVK, ns, "app")).To(BeFalse())

	infra := newKustomization(t, ns, "infra", "repo", func(ks *kustomizev1.Kustomization) { ks.Spec.Path = "infra" })
	waitReady(t, infra, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	waitReady(t, apps, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)

	// readyExpr replaces the built-in check: apps-gold waits until infra
	// carries the label its expression asks for, then applies.
	gold := newKustomization(t, ns, "apps-gold", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "apps"
		ks.Spec.TargetNamespace = env.NewNamespace(t)
		ks.Spec.DependsOn = []meta.DependencyReference{{Name: "infra", ReadyExpr: "dep.metadata.?labels.tier.orValue('') == 'gold' && dep.metadata.generation == dep.status.observedGeneration"}}
	})
	cur = waitReady(t, gold, metav1.ConditionFalse, kustomizev1.DependencyNotReadyReason, 30*time.Second)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("dependency '" + ns + "/infra' is not ready: readyExpr"))
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("is false"))
	labelled := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(infra), labelled)).To(Succeed())
	labelled.Labels = map[string]string{"tier": "gold"}
	g.Expect(env.Client.Update(context.Background(), labelled)).To(Succeed())
	waitReady(t, gold, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)

	// A readyExpr that does not compile stalls before anything is applied.
	broken := newKustomization(t, ns, "apps-broken", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "apps"
		ks.Spec.TargetNamespace = env.NewNamespace(t)
		ks.Spec.DependsOn = []meta.DependencyReference{{Name: "infra", ReadyExpr: "dep.status.ready =="}}
	})
	g.Eventually(func(g Gomega) {
		cur := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(broken), cur)).To(Succeed())
		g.Expect(conditions.IsStalled(cur)).To(BeTrue())
		g.Expect(conditions.GetReason(cur, meta.ReadyCondition)).To(Equal(kustomizev1.InvalidCELExpressionReason))
		g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring(`dependsOn[0] (infra): readyExpr "dep.status.ready ==" does not compile`))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// A cycle a -> b -> a is named instead of waited on forever.
	a := newKustomization(t, ns, "a", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "apps"
		ks.Spec.DependsOn = []meta.DependencyReference{{Name: "b"}}
	})
	newKustomization(t, ns, "b", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "apps"
		ks.Spec.DependsOn = []meta.DependencyReference{{Name: "a"}}
	})
	g.Eventually(func(g Gomega) {
		cur := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(a), cur)).To(Succeed())
		g.Expect(conditions.IsStalled(cur)).To(BeTrue())
		g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("dependency cycle: " + ns + "/a -> " + ns + "/b -> " + ns + "/a"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}

func TestHealthChecks(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "a", "")}))
	// A stalled Kustomization is a failed object for kstatus: the health
	// check fails fast, naming it and why.
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "remote"},
		Data: map[string][]byte{"value": []byte(execKubeconfig)}})).To(Succeed())
	broken := newKustomization(t, ns, "broken", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "remote"}}
	})
	waitReady(t, broken, metav1.ConditionFalse, kubeconfig.ReasonInvalid, 30*time.Second)

	ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Wait = true
		ks.Spec.HealthChecks = []meta.NamespacedObjectKindReference{{APIVersion: kustomizev1.GroupVersion.String(), Kind: "Kustomization", Name: "broken"}}
	})
	cur := waitReady(t, ks, metav1.ConditionFalse, kustomizev1.HealthCheckFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring("Kustomization/" + ns + "/broken: "))
	g.Expect(msg).To(ContainSubstring("exec plugin"))
	g.Expect(conditions.IsFalse(cur, kustomizev1.HealthyCondition)).To(BeTrue())
	// The apply itself happened: health is checked after it.
	g.Expect(exists(configMapGVK, ns, "a")).To(BeTrue())
}

func TestPostBuildSubstitution(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"}, Data: map[string]string{"cluster_env": "prod", "region": "eu"}})).To(Succeed())
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secret-vars"}, StringData: map[string]string{"token": "s3cr3t"}})).To(Succeed())
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${cluster_env}\n  namespace: " + ns +
		"\ndata:\n  region: ${region}\n  size: ${size:=small}\n  token: ${token}\n  inline: ${inline}\n"
	raw := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\n  namespace: " + ns +
		"\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  script: echo ${HOME}\n"
	repo := newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": cm, "raw.yaml": raw}))
	ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.PostBuild = &kustomizev1.PostBuild{
			Substitute: map[string]string{"inline": "from-spec", "region": "us"},
			SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "vars"},
				{Kind: "Secret", Name: "secret-vars"},
				{Kind: "Secret", Name: "absent", Optional: true},
			},
		}
	})
	waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	var got corev1.ConfigMap
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app-prod"}, &got)).To(Succeed())
	g.Expect(got.Data).To(Equal(map[string]string{"region": "us", "size": "small", "token": "s3cr3t", "inline": "from-spec"}))
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "raw"}, &got)).To(Succeed())
	g.Expect(got.Data["script"]).To(Equal("echo ${HOME}"))

	// Strict mode names the undefined variable and never a value.
	setArtifact(t, repo, publish(t, map[string]string{"cm.yaml": cm + "  missing: ${undefined_var}\n"}))
	cur := waitReady(t, ks, metav1.ConditionFalse, kustomizev1.BuildFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring("undefined_var"))
	g.Expect(msg).To(ContainSubstring("ConfigMap/" + ns + "/app-${cluster_env}"))
	g.Expect(msg).NotTo(ContainSubstring("s3cr3t"))
}

func TestImpersonationAndTwoOwners(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "shared", "")}))

	denied := newKustomization(t, ns, "tenant", "repo", func(ks *kustomizev1.Kustomization) { ks.Spec.ServiceAccountName = "nobody" })
	cur := waitReady(t, denied, metav1.ConditionFalse, kustomizev1.ReconciliationFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring("as service account " + ns + "/nobody"))
	g.Expect(msg).To(ContainSubstring("forbidden"))
	g.Expect(env.Client.Delete(context.Background(), cur)).To(Succeed())

	first := newKustomization(t, ns, "first", "repo", nil)
	waitReady(t, first, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
	second := newKustomization(t, ns, "second", "repo", nil)
	cur = waitReady(t, second, metav1.ConditionFalse, kustomizev1.ReconciliationFailedReason, 30*time.Second)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring("ConfigMap/" + ns + "/shared is already applied by Kustomization " + ns + "/first"))

	// Events carry the change set and the revision.
	g.Eventually(func(g Gomega) {
		var list corev1.EventList
		g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
		var msgs []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == "first" {
				msgs = append(msgs, e.Message)
			}
		}
		g.Expect(msgs).To(ContainElement("ConfigMap/" + ns + "/shared created"))
	}, 10*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestNewRevisionCancelsHealthWait: while a health check waits (here on an
// object that stays in progress), a new source revision is applied at once
// instead of after the timeout.
func TestNewRevisionCancelsHealthWait(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	repo := newGitRepository(t, ns, "repo", publish(t, map[string]string{"cm.yaml": configMap(ns, "v1", "")}))
	// In progress for kstatus: it waits for a source that does not exist.
	pending := newKustomization(t, ns, "pending", "absent", nil)
	waitReady(t, pending, metav1.ConditionFalse, kustomizev1.ArtifactFailedReason, 30*time.Second)
	ks := newKustomization(t, ns, "app", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Timeout = &metav1.Duration{Duration: 5 * time.Minute}
		ks.Spec.HealthChecks = []meta.NamespacedObjectKindReference{{APIVersion: kustomizev1.GroupVersion.String(), Kind: "Kustomization", Name: "pending"}}
	})
	g.Eventually(func() bool { return exists(configMapGVK, ns, "v1") }, 30*time.Second, 100*time.Millisecond).Should(BeTrue())

	start := time.Now()
	setArtifact(t, repo, publish(t, map[string]string{"cm.yaml": configMap(ns, "v2", "")}))
	g.Eventually(func() bool { return exists(configMapGVK, ns, "v2") }, 60*time.Second, 100*time.Millisecond).Should(BeTrue())
	g.Expect(time.Since(start)).To(BeNumerically("<", 60*time.Second))
	cur := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), cur)).To(Succeed())
	g.Expect(cur.Status.LastAppliedRevision).To(BeEmpty()) // never healthy, never "applied"
}
