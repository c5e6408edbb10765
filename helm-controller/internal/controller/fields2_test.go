package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// waitsChart is a chart whose switches make Helm's waits visible: a Job
// that never completes (it is suspended), a PVC that never binds,
// a ConfigMap held by a finalizer (its deletion never ends) and an extra
// ConfigMap.
func waitsChart(t testing.TB) []byte {
	return packageChart(t, "waits", "1.0.0", map[string]string{
		"values.yaml": "message: hello\njob: false\npvc: false\nheld: false\nextra: false\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  message: {{ .Values.message | quote }}
{{- if .Values.extra }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
{{- end }}
{{- if .Values.held }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-held
  finalizers: [gotk.test/hold]
{{- end }}
`,
		"templates/job.yaml": `{{- if .Values.job }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-job
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: job
        image: example.com/job:1
{{- end }}
`,
		"templates/pvc.yaml": `{{- if .Values.pvc }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .Release.Name }}-data
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: never-provisioned
  resources:
    requests:
      storage: 1Mi
{{- end }}
`,
	})
}

// releaseFinalizer removes the test finalizer from ns/name so the
// ConfigMap (and its namespace) can go.
func releaseFinalizer(ns, name string) {
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		return
	}
	base := cm.DeepCopy()
	cm.Finalizers = nil
	_ = env.Client.Patch(context.Background(), cm, client.MergeFrom(base))
}

// TestHelmReleaseWaitAndForceOptions: each case installs the waits chart
// with one install, upgrade, rollback or uninstall option set, makes the
// action run (a changed spec, a failed upgrade's rollback, a deletion)
// and checks what the option changes; the "control" cases show the
// behaviour without it.
func TestHelmReleaseWaitAndForceOptions(t *testing.T) {
	startController(t)
	ctx := context.Background()
	short := &metav1.Duration{Duration: 3 * time.Second}
	rollBackOnce := &helmv2.UpgradeRemediation{Retries: 0, RemediateLastFailure: ptrTo(true)}
	// failingUpgrade makes an upgrade that waits on the PVC fail after
	// short and be rolled back.
	failingUpgrade := func(hr *helmv2.HelmRelease) {
		hr.Spec.Install = &helmv2.Install{DisableWait: true}
		hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short, Remediation: rollBackOnce}
	}
	newMessage := func(values string) func(hr *helmv2.HelmRelease) {
		return func(hr *helmv2.HelmRelease) { hr.Spec.Values = jsonValues(values) }
	}
	cases := []struct {
		name    string
		values  string
		options func(hr *helmv2.HelmRelease)
		// change runs after the first release is Ready; nil checks the
		// install itself.
		change func(hr *helmv2.HelmRelease)
		check  func(t *testing.T, hr *helmv2.HelmRelease, ns string)
	}{
		{name: "install disableWaitForJobs", values: "job: true\n",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Install = &helmv2.Install{Timeout: short, DisableWaitForJobs: true}
			},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) { eventuallyReady(t, hr, fieldsTimeout) }},
		{name: "control: install waits for jobs", values: "job: true\n",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Install = &helmv2.Install{Timeout: short} },
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, 40*time.Second)
			}},
		{name: "upgrade disableWaitForJobs",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short, DisableWaitForJobs: true}
			},
			change: newMessage("job: true\n"),
			check:  func(t *testing.T, hr *helmv2.HelmRelease, ns string) { eventuallyVersion(t, hr, 2) }},
		{name: "control: upgrade waits for jobs",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short} },
			change:  newMessage("job: true\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.UpgradeFailedReason, 40*time.Second)
			}},
		{name: "upgrade force replaces objects", values: "message: first\n",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{Force: true} },
			change:  newMessage("message: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyVersion(t, hr, 2)
				cm := configMap(t, ns, "r-config")
				NewWithT(t).Expect(cm.Data["message"]).To(Equal("second"))
				NewWithT(t).Expect(cm.Labels).NotTo(HaveKey("out-of-band"), "the replace drops what the chart does not render")
			}},
		{name: "control: upgrade patches objects", values: "message: first\n",
			change: newMessage("message: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyVersion(t, hr, 2)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Labels).To(HaveKeyWithValue("out-of-band", "yes"))
			}},
		{name: "upgrade cleanupOnFail",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short, CleanupOnFail: true} },
			change:  newMessage("extra: true\npvc: true\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.UpgradeFailedReason, 40*time.Second)
				NewWithT(t).Eventually(func() *corev1.ConfigMap { return configMap(t, ns, "r-extra") },
					20*time.Second, 250*time.Millisecond).Should(BeNil(), "the failed upgrade's new ConfigMap is deleted")
			}},
		{name: "control: a failed upgrade leaves its objects",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short} },
			change:  newMessage("extra: true\npvc: true\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.ReleasedCondition, false, helmv2.UpgradeFailedReason, 40*time.Second)
				NewWithT(t).Expect(configMap(t, ns, "r-extra")).NotTo(BeNil())
			}},
		{name: "rollback disableWait", values: "pvc: true\n",
			options: func(hr *helmv2.HelmRelease) {
				failingUpgrade(hr)
				hr.Spec.Rollback = &helmv2.Rollback{DisableWait: true}
			},
			change: newMessage("pvc: true\nmessage: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackSucceededReason, fieldsTimeout)
			}},
		{name: "rollback force replaces objects", values: "pvc: true\n",
			options: func(hr *helmv2.HelmRelease) {
				failingUpgrade(hr)
				hr.Spec.Rollback = &helmv2.Rollback{DisableWait: true, Force: true}
			},
			change: newMessage("pvc: true\nmessage: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackSucceededReason, fieldsTimeout)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Labels).NotTo(HaveKey("out-of-band"))
			}},
		{name: "control: rollback patches objects", values: "pvc: true\n",
			options: func(hr *helmv2.HelmRelease) {
				failingUpgrade(hr)
				hr.Spec.Rollback = &helmv2.Rollback{DisableWait: true}
			},
			change: newMessage("pvc: true\nmessage: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackSucceededReason, fieldsTimeout)
				NewWithT(t).Expect(configMap(t, ns, "r-config").Labels).To(HaveKeyWithValue("out-of-band", "yes"))
			}},
		{name: "rollback timeout", values: "pvc: true\n",
			options: func(hr *helmv2.HelmRelease) {
				failingUpgrade(hr)
				hr.Spec.Rollback = &helmv2.Rollback{Timeout: short}
			},
			change: newMessage("pvc: true\nmessage: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				// spec.timeout is a minute: failing well within it shows
				// rollback.timeout is the one used.
				eventuallyReason(t, hr, helmv2.RemediatedCondition, helmv2.RollbackFailedReason, 40*time.Second)
			}},
		{name: "rollback disableWaitForJobs", values: "job: true\n",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Install = &helmv2.Install{DisableWaitForJobs: true}
				hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short, Remediation: rollBackOnce}
				hr.Spec.Rollback = &helmv2.Rollback{Timeout: short, DisableWaitForJobs: true}
			},
			change: newMessage("job: true\nmessage: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyCondition(t, hr, helmv2.RemediatedCondition, true, helmv2.RollbackSucceededReason, fieldsTimeout)
			}},
		{name: "control: rollback waits for jobs", values: "job: true\n",
			options: func(hr *helmv2.HelmRelease) {
				hr.Spec.Install = &helmv2.Install{DisableWaitForJobs: true}
				hr.Spec.Upgrade = &helmv2.Upgrade{Timeout: short, Remediation: rollBackOnce}
				hr.Spec.Rollback = &helmv2.Rollback{Timeout: short}
			},
			change: newMessage("job: true\nmessage: second\n"),
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				eventuallyReason(t, hr, helmv2.RemediatedCondition, helmv2.RollbackFailedReason, 40*time.Second)
			}},
		{name: "uninstall disableWait", values: "held: true\n",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Uninstall = &helmv2.Uninstall{DisableWait: true} },
			change:  func(hr *helmv2.HelmRelease) {},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				g := NewWithT(t)
				g.Expect(env.Client.Delete(context.Background(), hr)).To(Succeed())
				g.Eventually(func() bool {
					return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}))
				}, 30*time.Second, 250*time.Millisecond).Should(BeTrue(), "the uninstall does not wait for the held ConfigMap")
				cm := configMap(t, ns, "r-held")
				g.Expect(cm).NotTo(BeNil())
				g.Expect(cm.DeletionTimestamp).NotTo(BeNil())
			}},
		{name: "uninstall timeout", values: "held: true\n",
			options: func(hr *helmv2.HelmRelease) { hr.Spec.Uninstall = &helmv2.Uninstall{Timeout: short} },
			change:  func(hr *helmv2.HelmRelease) {},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				// The uninstall waits for the held ConfigMap until
				// uninstall.timeout (spec.timeout is a minute), then the
				// release is gone and the HelmRelease with it.
				g := NewWithT(t)
				start := time.Now()
				g.Expect(env.Client.Delete(context.Background(), hr)).To(Succeed())
				g.Eventually(func() bool {
					return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}))
				}, 30*time.Second, 250*time.Millisecond).Should(BeTrue())
				g.Expect(time.Since(start)).To(BeNumerically(">=", short.Duration), "the uninstall waited")
			}},
		{name: "control: uninstall waits for the deletion", values: "held: true\n",
			change: func(hr *helmv2.HelmRelease) {},
			check: func(t *testing.T, hr *helmv2.HelmRelease, ns string) {
				g := NewWithT(t)
				g.Expect(env.Client.Delete(context.Background(), hr)).To(Succeed())
				g.Consistently(func() error {
					return env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{})
				}, 5*time.Second, 250*time.Millisecond).Should(Succeed(), "the uninstall waits for the held ConfigMap")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			t.Cleanup(func() { releaseFinalizer(ns, "r-held") })
			publishChart(t, ns, "waits", waitsChart(t), "1.0.0")
			hr := newRelease(ns, "r", "waits", tc.values)
			if tc.options != nil {
				tc.options(hr)
			}
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			if tc.change != nil {
				eventuallyReady(t, hr, fieldsTimeout)
				// A label no chart renders, set out of band.
				cm := configMap(t, ns, "r-config")
				base := cm.DeepCopy()
				cm.Labels = map[string]string{"out-of-band": "yes"}
				g.Expect(env.Client.Patch(ctx, cm, client.MergeFrom(base))).To(Succeed())
				updateSpec(t, hr, tc.change)
			}
			tc.check(t, hr, ns)
		})
	}
}

// eventuallyReason waits until the HelmRelease's condition typ has reason.
func eventuallyReason(t *testing.T, hr *helmv2.HelmRelease, typ, reason string, timeout time.Duration) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(conditions.GetReason(getRelease(g, hr), typ)).To(Equal(reason))
	}, timeout, 250*time.Millisecond).Should(Succeed())
}

// TestHelmReleaseServiceAccountName: with spec.serviceAccountName the
// release is made as that account: one no role binds is refused by the
// API server's RBAC (nothing installed), and once a Role lets it manage
// ConfigMaps and Secrets (the release storage) the install succeeds.
func TestHelmReleaseServiceAccountName(t *testing.T) {
	startController(t)
	ctx := context.Background()
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	publishChart(t, ns, "waits", waitsChart(t), "1.0.0")
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metaOf(ns, "deployer")})).To(Succeed())
	hr := newRelease(ns, "r", "waits", "")
	hr.Spec.ServiceAccountName = "deployer"
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getRelease(g, hr)
		g.Expect(conditions.IsFalse(got, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("system:serviceaccount:" + ns + ":deployer"))
	}, fieldsTimeout, 250*time.Millisecond).Should(Succeed())
	g.Expect(configMap(t, ns, "r-config")).To(BeNil())

	rw := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	for _, o := range []client.Object{
		&rbacv1.Role{ObjectMeta: metaOf(ns, "deployer"), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: rw}}},
		&rbacv1.RoleBinding{ObjectMeta: metaOf(ns, "deployer"),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "deployer"}}},
	} {
		g.Expect(env.Client.Create(ctx, o)).To(Succeed())
	}
	requestReconcile(t, hr)
	eventuallyReady(t, hr, fieldsTimeout)
	g.Expect(configMap(t, ns, "r-config")).NotTo(BeNil())
}

// TestHelmReleaseInstallReplace: a release uninstalled with keepHistory
// leaves its name in the storage; a new HelmRelease of that name installs
// over it only with spec.install.replace.
func TestHelmReleaseInstallReplace(t *testing.T) {
	startController(t)
	ctx := context.Background()
	cases := []struct {
		name    string
		replace bool
	}{{name: "replace", replace: true}, {name: "control: the kept name is in use"}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			publishChart(t, ns, "waits", waitsChart(t), "1.0.0")
			first := newRelease(ns, "r", "waits", "")
			first.Spec.Uninstall = &helmv2.Uninstall{KeepHistory: true}
			g.Expect(env.Client.Create(ctx, first)).To(Succeed())
			eventuallyReady(t, first, fieldsTimeout)
			g.Expect(env.Client.Delete(ctx, first)).To(Succeed())
			g.Eventually(func() bool {
				return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(first), &helmv2.HelmRelease{}))
			}, fieldsTimeout, 250*time.Millisecond).Should(BeTrue())

			again := newRelease(ns, "r", "waits", "message: again\n")
			again.Spec.Install = &helmv2.Install{Replace: tc.replace}
			g.Expect(env.Client.Create(ctx, again)).To(Succeed())
			if tc.replace {
				eventuallyReady(t, again, fieldsTimeout)
				g.Expect(configMap(t, ns, "r-config").Data["message"]).To(Equal("again"))
				return
			}
			got := eventuallyCondition(t, again, helmv2.ReleasedCondition, false, helmv2.InstallFailedReason, fieldsTimeout)
			g.Expect(conditions.GetMessage(got, helmv2.ReleasedCondition)).To(ContainSubstring("cannot reuse a name that is still in use"))
		})
	}
}
