package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// TestImageUpdateAutomationAWSSource: the source step of an automation
// whose GitRepository has provider aws signs CodeCommit Git credentials
// from the controller's IAM keys or (behind the gate) the GitRepository's
// ServiceAccount's IAM role, which a CodeCommit-style Git server takes
// for a clone and a push; a ServiceAccount without a role annotation, or
// without the gate, stalls.
func TestImageUpdateAutomationAWSSource(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": testserver.CloudAWSAccessKey, "AWS_SECRET_ACCESS_KEY": testserver.CloudAWSSecretKey,
		"AWS_REGION": testserver.CodeCommitRegion, "AWS_ENDPOINT_URL_STS": cloud.URL} {
		t.Setenv(k, v)
	}
	codecommit := &testserver.CodeCommitAuth{}
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Wrap: codecommit.Wrap})
	_, err := srv.CommitFiles("app", "main", map[string]string{"app.yaml": "kind: ConfigMap\n"}, "init")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	const role = "arn:aws:iam::111122223333:role/pusher"
	for _, sa := range []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pusher", Annotations: map[string]string{cloudauth.AnnotationAWSRoleARN: role}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare"}},
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, sa)).To(Succeed())
	}
	for _, tc := range []struct {
		name, sa, wantKey string
		gateOff           bool
		class             reconcile.Class
		reason, msg       string
	}{
		{name: "controller", wantKey: testserver.CloudAWSAccessKey},
		{name: "web-identity", sa: "pusher", wantKey: testserver.CloudAWSSTSAccessKey},
		{name: "no-role", sa: "bare", class: reconcile.Stalling, reason: cloudauth.InvalidProviderConfigurationReason,
			msg: "has no eks.amazonaws.com/role-arn annotation"},
		{name: "gate-off", sa: "pusher", gateOff: true, class: reconcile.Stalling, reason: "FeatureGateDisabled",
			msg: "needs the ObjectLevelWorkloadIdentity feature gate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name}, Spec: sourcev1.GitRepositorySpec{
				URL: srv.URL("app"), Provider: sourcev1.GitProviderAWS, ServiceAccountName: tc.sa,
				Interval: metav1.Duration{Duration: time.Hour}}}
			g.Expect(env.Client.Create(ctx, gr)).To(Succeed())
			run := &automationRun{r: &ImageUpdateAutomationReconciler{Client: env.Client, WorkloadIdentity: !tc.gateOff, CloudHTTPClient: cloud.Client}}
			err := run.source(ctx, newAutomation(ns, "auto", tc.name))
			if tc.reason != "" {
				g.Expect(err).To(HaveOccurred())
				e := reconcile.Classify(err, "")
				g.Expect([]any{e.Class, e.Reason}).To(Equal([]any{tc.class, tc.reason}))
				g.Expect(e.Error()).To(ContainSubstring(tc.msg))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			// The server takes the signed credentials for the clone and
			// the push (a new branch at the cloned commit).
			dir := t.TempDir()
			_, err = git.Clone(ctx, run.url, dir, git.CloneOptions{Auth: run.auth, Ref: git.Reference{Branch: "main"}})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(git.Push(ctx, dir, run.url, git.PushOptions{Auth: run.auth, RefSpecs: []string{"HEAD:refs/heads/" + tc.name}})).To(Succeed())
			refs, err := git.ListRefs(ctx, run.url, run.auth)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(refs).To(ContainElement(HaveField("Name", "refs/heads/"+tc.name)))
			g.Expect(codecommit.AccessKeys()).To(ContainElement(tc.wantKey))
			if tc.sa != "" {
				g.Expect(cloud.Calls()).To(ContainElement("sts:" + role))
			}
		})
	}
}
