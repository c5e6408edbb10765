package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/testserver"
)

// TestImageUpdateAutomationFields: each case runs an automation over a
// copy of the seed app repository with one spec field set and checks
// what was committed and pushed where.
func TestImageUpdateAutomationFields(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// prepare runs on the bare repository after the marker commit,
		// whose SHA it gets; it returns the commit the checkout should
		// start from.
		prepare func(t *testing.T, repo, marker string) string
		mutate  func(a *imagev1.ImageUpdateAutomation, ns string)
		check   func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string)
	}{
		{name: "messageTemplateValues",
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Commit.MessageTemplate = "update images in {{ .Values.env }}"
				a.Spec.GitSpec.Commit.MessageTemplateValues = map[string]string{"env": "production"}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				pushed(t, a)
				NewWithT(t).Expect(gitOut(t, repo, "log", "-1", "--format=%s", "main")).To(Equal("update images in production"))
			}},
		{name: "push refspec",
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Push = &imagev1.PushSpec{Refspec: "refs/heads/main:refs/heads/mirror"}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				a = pushed(t, a)
				g := NewWithT(t)
				g.Expect(head(t, repo, "main")).To(Equal(a.Status.LastPushCommit))
				g.Expect(head(t, repo, "mirror")).To(Equal(a.Status.LastPushCommit), "the refspec is pushed too")
			}},
		{name: "push options",
			prepare: func(t *testing.T, repo, marker string) string {
				if err := testserver.RecordPushOptions(gitSrv.GitRepos, repo); err != nil {
					t.Fatal(err)
				}
				return marker
			},
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Push = &imagev1.PushSpec{Options: map[string]string{"ci.skip": "", "merge_request.target": "main"}}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				pushed(t, a)
				got, err := testserver.PushOptions(gitSrv.GitRepos, repo)
				g := NewWithT(t)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(got).To(HaveLen(1), "one push")
				g.Expect(got[0]).To(ConsistOf("ci.skip=", "merge_request.target=main"), "the receiving git saw the options")
				g.Expect(conditions.GetMessage(a, meta.ReadyCondition)).NotTo(ContainSubstring("were not sent"))
			}},
		{name: "push options the server does not accept",
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Push = &imagev1.PushSpec{Options: map[string]string{"merge_request.create": "", "ci.skip": ""}}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				note := "push options ci.skip, merge_request.create were not sent: the Git server does not advertise push-options"
				a = eventually(t, a, func(g Gomega, a *imagev1.ImageUpdateAutomation) {
					g.Expect(a.Status.LastPushCommit).NotTo(BeEmpty())
					g.Expect(conditions.IsReady(a)).To(BeTrue())
					g.Expect(conditions.GetMessage(a, meta.ReadyCondition)).To(ContainSubstring(note))
				})
				waitEvent(t, a, note)
				NewWithT(t).Expect(head(t, repo, "main")).To(Equal(a.Status.LastPushCommit), "the push itself went through")
			}},
		{name: "checkout tag",
			prepare: func(t *testing.T, repo, marker string) string {
				gitOut(t, repo, "tag", "v1", marker)
				moveMain(t, repo)
				return marker
			},
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Checkout.Reference = imagev1.GitRepositoryRef{Tag: "v1"}
				a.Spec.GitSpec.Push = &imagev1.PushSpec{Branch: "from-tag"}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				pushed(t, a)
				NewWithT(t).Expect(gitOut(t, repo, "rev-parse", "from-tag^")).To(Equal(base))
			}},
		{name: "checkout semver",
			prepare: func(t *testing.T, repo, marker string) string {
				gitOut(t, repo, "tag", "v1.0.0", marker)
				moveMain(t, repo)
				gitOut(t, repo, "tag", "v2.0.0", head(t, repo, "main"))
				return marker
			},
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Checkout.Reference = imagev1.GitRepositoryRef{SemVer: "1.x"}
				a.Spec.GitSpec.Push = &imagev1.PushSpec{Branch: "from-semver"}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				pushed(t, a)
				NewWithT(t).Expect(gitOut(t, repo, "rev-parse", "from-semver^")).To(Equal(base))
			}},
		{name: "checkout name",
			prepare: func(t *testing.T, repo, marker string) string {
				gitOut(t, repo, "branch", "dev", marker)
				moveMain(t, repo)
				return marker
			},
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) {
				a.Spec.GitSpec.Checkout.Reference = imagev1.GitRepositoryRef{Name: "refs/heads/dev"}
				a.Spec.GitSpec.Push = &imagev1.PushSpec{Branch: "from-name"}
			},
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				pushed(t, a)
				NewWithT(t).Expect(gitOut(t, repo, "rev-parse", "from-name^")).To(Equal(base))
			}},
		{name: "suspend",
			mutate: func(a *imagev1.ImageUpdateAutomation, _ string) { a.Spec.Suspend = true },
			check: func(t *testing.T, a *imagev1.ImageUpdateAutomation, repo, base string) {
				g := NewWithT(t)
				g.Consistently(func() string { return head(t, repo, "main") }, 3*time.Second, 200*time.Millisecond).Should(Equal(base))
				g.Eventually(func() error {
					cur := &imagev1.ImageUpdateAutomation{}
					if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), cur); err != nil {
						return err
					}
					cur.Spec.Suspend = false
					return env.Client.Update(ctx, cur)
				}, 10*time.Second).Should(Succeed())
				a = pushed(t, a)
				g.Expect(head(t, repo, "main")).To(Equal(a.Status.LastPushCommit))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := env.NewNamespace(t)
			repo := ns + "-f"
			gitSource(t, ns, repo, gitPassword)
			patch := strings.Replace(gitOut(t, repo, "show", "main:"+seedPatchPath), `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
			marker, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "marker")
			if err != nil {
				t.Fatal(err)
			}
			base := marker
			if tc.prepare != nil {
				base = tc.prepare(t, repo, marker)
			}
			policyAt(t, ns, ns+"/my-app", "v1.2.3")
			a := newAutomation(ns, "auto", repo)
			tc.mutate(a, ns)
			NewWithT(t).Expect(env.Client.Create(ctx, a)).To(Succeed())
			tc.check(t, a, repo, base)
			a = pushed(t, a)
			g := NewWithT(t)
			g.Expect(gitOut(t, repo, "show", a.Status.LastPushCommit+":"+seedPatchPath)).To(ContainSubstring(ns + "/my-app:v1.2.3"))
		})
	}
}

// pushed waits until the automation reports a pushed commit.
func pushed(t *testing.T, a *imagev1.ImageUpdateAutomation) *imagev1.ImageUpdateAutomation {
	t.Helper()
	return eventually(t, a, func(g Gomega, a *imagev1.ImageUpdateAutomation) {
		g.Expect(a.Status.LastPushCommit).NotTo(BeEmpty())
	})
}

// moveMain commits an unrelated change on main, so a checkout of an
// older reference is told apart from one of main.
func moveMain(t *testing.T, repo string) {
	t.Helper()
	if _, err := gitSrv.CommitFiles(repo, "main", map[string]string{"NOTES.md": "later\n"}, "later"); err != nil {
		t.Fatal(err)
	}
}
