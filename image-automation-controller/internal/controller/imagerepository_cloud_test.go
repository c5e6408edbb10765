package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/google/go-containerregistry/pkg/authn"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// ecrHost is an ECR registry host; a forward proxy serves it from a
// local registry.
const ecrHost = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"

// TestImageRepositoryCloudProvider scans an ECR repository with provider
// aws: the controller's keys or a ServiceAccount's web identity (a token
// minted by the API server, exchanged at STS) are exchanged at ECR's
// GetAuthorizationToken for the password of a registry that accepts only
// it. Settings that cannot work stall or retry with a reason naming them.
func TestImageRepositoryCloudProvider(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	const token = "ecr-registry-token"
	ecrReg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: "AWS", Password: token}})
	testserver.PushRandomImage(t, ecrReg.Host()+"/team/app:1.0.0", &authn.Basic{Username: "AWS", Password: token})
	proxy := testserver.NewForwardProxyForTest(t, ecrReg.Host())
	cloud := testserver.NewCloudTokensForTest(t, token)
	testserver.IsolateCloudEnv(t)
	cloud.UseForAWS(t)

	const role = "arn:aws:iam::111122223333:role/scanner"
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "proxy"}, Data: map[string][]byte{"address": []byte(proxy.URL)}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scanner", Annotations: map[string]string{cloudauth.AnnotationAWSRoleARN: role}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-role"}},
	} {
		NewWithT(t).Expect(env.Client.Create(ctx, obj)).To(Succeed())
	}

	for _, tc := range []struct {
		name      string
		keys      bool // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set
		gate      bool // ObjectLevelWorkloadIdentity
		mutate    func(*imagev1.ImageRepository)
		wantCalls []string
		class     reconcile.Class
		reason    string
		msg       string
	}{
		{name: "the controller's keys", keys: true, wantCalls: []string{"ecr:" + testserver.CloudAWSAccessKey}},
		{name: "a ServiceAccount's web identity", gate: true,
			mutate:    func(r *imagev1.ImageRepository) { r.Spec.ServiceAccountName = "scanner" },
			wantCalls: []string{"sts:" + role, "ecr:" + testserver.CloudAWSSTSAccessKey}},
		{name: "a ServiceAccount without the gate", keys: true,
			mutate: func(r *imagev1.ImageRepository) { r.Spec.ServiceAccountName = "scanner" },
			class:  reconcile.Stalling, reason: meta.FeatureGateDisabledReason,
			msg: "spec.serviceAccountName with provider aws needs the ObjectLevelWorkloadIdentity feature gate"},
		{name: "a ServiceAccount that does not exist", gate: true,
			mutate: func(r *imagev1.ImageRepository) { r.Spec.ServiceAccountName = "missing" },
			class:  reconcile.Transient, reason: cloudauth.AuthenticationFailedReason, msg: "ServiceAccount " + ns + "/missing of spec.serviceAccountName not found"},
		{name: "a ServiceAccount without a role", gate: true,
			mutate: func(r *imagev1.ImageRepository) { r.Spec.ServiceAccountName = "no-role" },
			class:  reconcile.Stalling, reason: cloudauth.InvalidProviderConfigurationReason, msg: "has no eks.amazonaws.com/role-arn annotation"},
		{name: "no credentials", class: reconcile.Transient, reason: cloudauth.AuthenticationFailedReason, msg: "provider aws login to " + ecrHost},
		{name: "a registry that is not ECR", keys: true,
			mutate: func(r *imagev1.ImageRepository) { r.Spec.Image = reg.Host() + "/team/app" },
			class:  reconcile.Stalling, reason: cloudauth.InvalidProviderConfigurationReason, msg: "is not an Amazon ECR registry"},
		{name: "azure with a registry that is not ACR",
			mutate: func(r *imagev1.ImageRepository) { r.Spec.Provider = imagev1.AzureProvider },
			class:  reconcile.Stalling, reason: cloudauth.InvalidProviderConfigurationReason, msg: "is not an Azure Container Registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			key, secret := "", ""
			if tc.keys {
				key, secret = testserver.CloudAWSAccessKey, testserver.CloudAWSSecretKey
			}
			t.Setenv("AWS_ACCESS_KEY_ID", key)
			t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
			before := len(cloud.Calls())
			obj := &imagev1.ImageRepository{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecr"},
				Spec: imagev1.ImageRepositorySpec{Image: ecrHost + "/team/app", Provider: imagev1.AWSProvider, Insecure: true,
					ProxySecretRef: &meta.LocalObjectReference{Name: "proxy"},
					Interval:       metav1.Duration{Duration: time.Hour}, Timeout: &metav1.Duration{Duration: 10 * time.Second}},
			}
			if tc.mutate != nil {
				tc.mutate(obj)
			}
			r := &ImageRepositoryReconciler{Client: env.Client, Store: store, WorkloadIdentity: tc.gate}
			_, _, err := r.Reconcile(ctx, obj)
			if tc.reason != "" {
				g.Expect(err).To(HaveOccurred())
				e := reconcile.Classify(err, "")
				g.Expect(e.Class).To(Equal(tc.class))
				g.Expect(e.Reason).To(Equal(tc.reason))
				g.Expect(e.Error()).To(ContainSubstring(tc.msg))
				g.Expect(e.Error()).NotTo(ContainSubstring(token))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cloud.Calls()[before:]).To(Equal(tc.wantCalls))
			g.Expect(proxy.Proxied(ecrHost)).To(BeTrue())
			g.Expect(obj.Status.LastScanResult).NotTo(BeNil())
			g.Expect(obj.Status.LastScanResult.LatestTags).To(Equal([]string{"1.0.0"}))
		})
	}
}
