package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// TestGitRepositoryAWSProvider clones with provider aws from a Git
// server that, like AWS CodeCommit, takes only Git passwords SigV4-signed
// from IAM credentials: the controller's keys (the SDK's default chain),
// and a ServiceAccount's IAM role (its token exchanged at STS for
// temporary keys, sent with their session token). The test server is no
// git-codecommit.<region> host, so the region to sign for is the SDK's
// configured one. A wrong secret key is refused and retried naming the
// key and region; a ServiceAccount without the gate, a ServiceAccount
// without a role annotation and an SSH URL stall. A second reconcile
// asks STS for no new credentials (the token cache).
func TestGitRepositoryAWSProvider(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ctx := t.Context()
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": testserver.CloudAWSAccessKey, "AWS_SECRET_ACCESS_KEY": testserver.CloudAWSSecretKey,
		"AWS_REGION": testserver.CodeCommitRegion, "AWS_ENDPOINT_URL_STS": cloud.URL} {
		t.Setenv(k, v)
	}
	useCloudClient(t, cloud.Client)
	codecommit := &testserver.CodeCommitAuth{}
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Wrap: codecommit.Wrap})
	commit, err := srv.CommitFiles("app", "main", map[string]string{"app.yaml": "kind: ConfigMap\n"}, "init")
	g.Expect(err).NotTo(HaveOccurred())

	ns := env.NewNamespace(t)
	const role = "arn:aws:iam::111122223333:role/puller"
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "puller",
		Annotations: map[string]string{cloudauth.AnnotationAWSRoleARN: role}}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare"}})).To(Succeed())

	for _, c := range []struct {
		name, sa, url, reason, message, wantKey string
		env                                     map[string]string
		stalled                                 bool
	}{
		{name: "controller-keys", wantKey: testserver.CloudAWSAccessKey},
		{name: "web-identity", sa: "puller", wantKey: testserver.CloudAWSSTSAccessKey},
		{name: "wrong-key", env: map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}, reason: sourcev1.AuthenticationFailedReason,
			message: "provider aws: the Git server refused the CodeCommit credentials signed with access key " +
				testserver.CloudAWSAccessKey + ", region " + testserver.CodeCommitRegion},
		{name: "no-role", sa: "bare", reason: sourcev1.InvalidProviderConfigurationReason, stalled: true,
			message: "has no eks.amazonaws.com/role-arn annotation"},
		{name: "no-region", env: map[string]string{"AWS_REGION": ""}, reason: sourcev1.InvalidProviderConfigurationReason, stalled: true,
			message: "is not an AWS CodeCommit host (git-codecommit.<region>.amazonaws.com) and no AWS region is configured"},
		{name: "ssh", url: "ssh://git@git-codecommit.us-east-1.amazonaws.com/v1/repos/app", reason: sourcev1.InvalidProviderConfigurationReason,
			stalled: true, message: "provider aws authenticates to CodeCommit over HTTPS only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			url := c.url
			if url == "" {
				url = srv.URL("app")
			}
			obj := newGitRepository(ns, c.name, url, &sourcev1.GitRepositoryRef{Branch: "main"})
			obj.Spec.Provider = sourcev1.GitProviderAWS
			obj.Spec.ServiceAccountName = c.sa
			g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
			if c.reason == "" {
				got := waitReady(g, obj)
				g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + commit))
				g.Expect(codecommit.AccessKeys()).To(ContainElement(c.wantKey))
				if c.sa == "" {
					return
				}
				// A second reconcile signs with the cached credentials: STS
				// is not asked again for the role.
				token := time.Now().Format(time.RFC3339Nano)
				g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				obj.Annotations = map[string]string{meta.ReconcileRequestAnnotation: token}
				g.Expect(env.Client.Update(ctx, obj)).To(Succeed())
				g.Eventually(func(g Gomega) {
					g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
					g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
					g.Expect(conditions.IsReady(got)).To(BeTrue())
				}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
				g.Expect(slices.DeleteFunc(cloud.Calls(), func(call string) bool { return call != "sts:"+role })).To(HaveLen(1))
				return
			}
			got := waitCondition(g, newGitRepository(ns, c.name, "", nil), meta.ReadyCondition, metav1.ConditionFalse, c.reason)
			g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(c.message))
			g.Expect(conditions.IsStalled(got)).To(Equal(c.stalled))
		})
	}

	// Without the ObjectLevelWorkloadIdentity gate a ServiceAccount stalls
	// before any credentials are read.
	t.Run("gate-off", func(t *testing.T) {
		g := NewWithT(t)
		obj := newGitRepository(ns, "gate-off", srv.URL("app"), &sourcev1.GitRepositoryRef{Branch: "main"})
		obj.Spec.Provider, obj.Spec.ServiceAccountName = sourcev1.GitProviderAWS, "puller"
		u, err := git.ParseURL(obj.Spec.URL)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = (&GitRepositoryReconciler{Client: env.Client}).awsAuth(ctx, obj, u, &git.Auth{})
		e := reconcile.Classify(err, "")
		g.Expect([]any{e.Class, e.Reason}).To(Equal([]any{reconcile.Stalling, meta.FeatureGateDisabledReason}))
		g.Expect(e.Error()).To(ContainSubstring("spec.serviceAccountName with provider aws needs the ObjectLevelWorkloadIdentity feature gate"))
	})
}
