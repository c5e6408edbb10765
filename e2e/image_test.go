package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

const regUser, regPassword = "robot", "e2e-registry-token"

// pushTag pushes a fresh random image as repo:tag to the test registry.
func (s *seedFlow) pushTag(t *testing.T, tag string) {
	t.Helper()
	ref, err := name.ParseReference(s.image+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPassword})); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// appHead is the commit at the tip of the app repository's main.
func (s *seedFlow) appHead(t *testing.T) string {
	t.Helper()
	head, err := s.git.Resolve(appRepo, "main")
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// imageAutomation is the guide's §3.3: the seed's ImageRepository,
// ImagePolicy and ImageUpdateAutomation (committed to the fleet
// repository) see a new tag, commit it to the app repository once, and
// the Kustomization applies that commit: the live Deployment runs the new image.
func (s *seedFlow) imageAutomation(ctx context.Context, t *testing.T) {
	s.pushTag(t, "v1.2.3")
	auths, _ := json.Marshal(map[string]any{"auths": map[string]any{s.reg.Host(): map[string]string{"username": regUser, "password": regPassword}}})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ghcr-credentials"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: auths}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	objs := readSeedObjects(t, "image-automation.yaml")
	repo := objs[imagev1.ImageRepositoryKind]
	if err := unstructuredSet(repo, s.image, "spec", "image"); err != nil {
		t.Fatal(err)
	}
	repo.Object["spec"].(map[string]any)["insecure"] = true // the test registry speaks plain HTTP
	before := s.appHead(t)
	s.commitToFleet(ctx, t, map[string]string{"clusters/e2e/apps/image-automation.yaml": toYAML(t, repo) + "---\n" +
		toYAML(t, objs[imagev1.ImagePolicyKind]) + "---\n" + toYAML(t, objs[imagev1.ImageUpdateAutomationKind])})

	policy := &imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	auto := &imagev1.ImageUpdateAutomation{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	eventually(t, time.Minute, "policy selects v1.2.3", func() error { return latestTag(ctx, policy, "v1.2.3") })
	eventually(t, time.Minute, "automation ready", func() error { return readyStatus(ctx, auto) })
	if head := s.appHead(t); head != before {
		t.Fatalf("the automation committed %s although the repository already runs v1.2.3", head)
	}

	// A new tag: the policy picks it, the automation commits it once.
	start := time.Now()
	s.pushTag(t, "v1.2.4")
	if _, err := gotk(ctx, "reconcile", "image", "repository", "my-app", "--timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "policy selects v1.2.4", func() error { return latestTag(ctx, policy, "v1.2.4") })
	var head string
	eventually(t, time.Minute, "automation commit", func() error {
		if head = s.appHead(t); head == before {
			return fmt.Errorf("no new commit on main")
		}
		return nil
	})
	gitDir, err := s.git.Path(appRepo)
	if err != nil {
		t.Fatal(err)
	}
	log, err := exec.Command("git", "--git-dir", gitDir, "log", "--format=%an|%s", before+".."+head).Output()
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(log)), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "flux-bot|chore: update") {
		t.Fatalf("want one commit by flux-bot, got:\n%s", log)
	}

	// GitHub announces the bot's push; the Kustomization applies it.
	githubPush(t, s.hookURL, hookToken)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}
	eventually(t, 2*time.Minute, "new image applied", func() error {
		if err := get(ctx, s.ks); err != nil {
			return err
		}
		if s.ks.Status.LastAppliedRevision != "main@sha1:"+head {
			return fmt.Errorf("last applied %q", s.ks.Status.LastAppliedRevision)
		}
		if err := get(ctx, dep); err != nil {
			return err
		}
		if img := dep.Spec.Template.Spec.Containers[0].Image; img != s.image+":v1.2.4" {
			return fmt.Errorf("image %s", img)
		}
		return nil
	})
	t.Logf("new tag pushed → running the new image: %s", time.Since(start).Round(time.Millisecond))
}

func latestTag(ctx context.Context, policy *imagev1.ImagePolicy, tag string) error {
	if err := readyStatus(ctx, policy); err != nil {
		return err
	}
	if policy.Status.LatestRef == nil || policy.Status.LatestRef.Tag != tag {
		return fmt.Errorf("latest %+v", policy.Status.LatestRef)
	}
	return nil
}
