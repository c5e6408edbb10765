package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestImageRepositoryAndPolicyFields: suspend holds an ImageRepository's
// scan and an ImagePolicy's choice until resumed.
func TestImageRepositoryAndPolicyFields(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	dockerSecret(t, ns, "creds", regPassword)
	pushImage(t, ns+"/app", "1.0.0", "1.1.0")

	// resume clears spec.suspend.
	resume := func(t *testing.T, obj client.Object, clear func()) {
		NewWithT(t).Eventually(func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return err
			}
			clear()
			return env.Client.Update(ctx, obj)
		}, 10*time.Second).Should(Succeed())
	}

	t.Run("ImageRepository suspend", func(t *testing.T) {
		g := NewWithT(t)
		repo := newRepository(ns, "suspended", ns+"/app")
		repo.Spec.Suspend = true
		g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
		g.Consistently(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(repo), repo)).To(Succeed())
			g.Expect(repo.Status.LastScanResult).To(BeNil())
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
		resume(t, repo, func() { repo.Spec.Suspend = false })
		repo = readyTrue(t, repo)
		g.Expect(repo.Status.LastScanResult.TagCount).To(Equal(2))
	})

	t.Run("ImagePolicy suspend", func(t *testing.T) {
		g := NewWithT(t)
		repo := newRepository(ns, "app", ns+"/app")
		g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
		readyTrue(t, repo)
		p := newPolicy(ns, "held", "app", semverPolicy(">=1.0.0"))
		p.Spec.Suspend = true
		g.Expect(env.Client.Create(ctx, p)).To(Succeed())
		g.Consistently(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
			g.Expect(p.Status.LatestRef).To(BeNil())
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
		resume(t, p, func() { p.Spec.Suspend = false })
		p = readyTrue(t, p)
		g.Expect(p.Status.LatestRef.Tag).To(Equal("1.1.0"))
	})

}
