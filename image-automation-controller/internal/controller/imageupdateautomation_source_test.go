package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestImageUpdateAutomationSourceNamespace: spec.sourceRef.namespace
// names the GitRepository's namespace. An automation in a tenant
// namespace pushes to the repository of the GitRepository in the other
// namespace, with the credentials Secret of that namespace, not to the
// same-named GitRepository of its own namespace; before the other
// namespace has it, it waits naming other/name. (With
// --no-cross-namespace-refs the reference is refused: TestTenancyLockdown.)
func TestImageUpdateAutomationSourceNamespace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	tenant, other := env.NewNamespace(t), env.NewNamespace(t)
	repo := other + "-shared"

	// A decoy of the same name in the tenant's namespace points at a
	// repository that does not exist and has no credentials.
	g.Expect(env.Client.Create(ctx, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: repo},
		Spec: sourcev1.GitRepositorySpec{URL: gitSrv.URL(tenant + "-missing"), Interval: metav1.Duration{Duration: time.Hour}}})).To(Succeed())

	a := newAutomation(tenant, "cross", repo)
	a.Spec.SourceRef.Namespace = other
	g.Expect(env.Client.Create(ctx, a)).To(Succeed())
	notReady(t, a, imagev1.DependencyNotReadyReason, "GitRepository "+other+"/"+repo+" not found")

	gitSource(t, other, repo, gitPassword)
	patch := strings.Replace(gitOut(t, repo, "show", "main:"+seedPatchPath), `"flux-system:my-app"`, `"`+tenant+`:my-app"`, 1)
	before, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "marker")
	g.Expect(err).NotTo(HaveOccurred())
	policyAt(t, tenant, tenant+"/my-app", "v1.2.3")
	requestReconcile(t, a)
	a = pushed(t, a)
	g.Expect(head(t, repo, "main")).To(Equal(a.Status.LastPushCommit))
	g.Expect(gitOut(t, repo, "rev-parse", "main^")).To(Equal(before))
	g.Expect(gitOut(t, repo, "show", "main:"+seedPatchPath)).To(ContainSubstring(tenant + "/my-app:v1.2.3"))
}
