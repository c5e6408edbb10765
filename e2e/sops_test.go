package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/sops/sopstest"
)

// secretsPath is where the encrypted Secret lives in the app repository:
// its own path, since two Kustomizations pruning one path fight.
const secretsPath = "secrets/production"

// sopsSecrets is the guide's §7.3: an age-encrypted Secret (encrypted
// here with the sops library and a fresh key) applied decrypted by the
// seed's SOPS Kustomization; with the wrong key nothing is applied and
// the condition says so.
func (s *seedFlow) sopsSecrets(ctx context.Context, t *testing.T) {
	right, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := age.GenerateX25519Identity()
	plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: production\ntype: Opaque\nstringData:\n  password: e2e-hunter2\n"
	enc, err := sopstest.Encrypt("db.yaml", []byte(plain), sopstest.Recipients{Age: []string{right.Recipient().String()}}, sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.git.CommitFiles(appRepo, "main", map[string]string{
		secretsPath + "/db.yaml":            string(enc),
		secretsPath + "/kustomization.yaml": "resources: [db.yaml]\n",
	}, "add the encrypted database secret"); err != nil {
		t.Fatal(err)
	}
	createSecret(ctx, t, ns, "sops-age", map[string]string{"identity.agekey": wrong.String()})

	seed := readSeedObjects(t, "sops-kustomization.yaml")[kustomizev1.KustomizationKind]
	if err := unstructuredSet(seed, "./"+secretsPath, "spec", "path"); err != nil {
		t.Fatal(err)
	}
	githubPush(t, s.hookURL, hookToken) // the app repository changed
	s.commitToFleet(ctx, t, map[string]string{"clusters/e2e/apps/my-app-secrets.yaml": toYAML(t, seed)})

	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app-secrets"}}
	db := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "db"}}
	eventually(t, 2*time.Minute, "wrong key refused", func() error {
		if err := get(ctx, ks); err != nil {
			return err
		}
		if r := conditions.GetReason(ks, meta.ReadyCondition); r != "DecryptionFailed" {
			return fmt.Errorf("Ready %s: %s", r, conditions.GetMessage(ks, meta.ReadyCondition))
		}
		return nil
	})
	msg := conditions.GetMessage(ks, meta.ReadyCondition)
	if !strings.Contains(msg, "db.yaml") || strings.Contains(msg, "e2e-hunter2") {
		t.Fatalf("the condition should name the file and never the value: %s", msg)
	}
	if err := absent(ctx, db); err != nil {
		t.Fatalf("applied with the wrong key: %v", err)
	}
	t.Logf("wrong key: %s", msg)

	createSecret(ctx, t, ns, "sops-age", map[string]string{"identity.agekey": right.String()})
	if _, err := gotk(ctx, "reconcile", "kustomization", "my-app-secrets", "--timeout", "2m"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "decrypted secret applied", func() error {
		if err := get(ctx, db); err != nil {
			return err
		}
		if string(db.Data["password"]) != "e2e-hunter2" {
			return fmt.Errorf("password not decrypted")
		}
		return nil
	})
}
