package bootstrap

import (
	"context"
	"strings"
	"testing"
)

// deployKeyState is what a hosting server holds of one deploy key.
type deployKeyState struct {
	Title, Key string
	ReadOnly   bool
}

// testDeployKeySteps runs the deploy-key steps every provider passes: the
// key is added once with Flux's name, a rerun writes nothing, a different
// key or access replaces it. reconcile is the provider's
// ReconcileDeployKey, keys reads the server's keys of the repository and
// writes its recorded writes.
func testDeployKeySteps(t *testing.T, reconcile func(ctx context.Context, name string, publicKey []byte, readOnly bool) (bool, error),
	keys func() []deployKeyState, writes func() []string) {
	t.Helper()
	ctx := context.Background()
	name := DeployKeyName("flux-system", "main", "clusters/production")
	_, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name     string
		key      []byte
		readOnly bool
		changed  bool
		writes   int
	}{
		{name: "added", key: pub, readOnly: true, changed: true, writes: 1},
		{name: "rerun", key: pub, readOnly: true, writes: 1},
		{name: "read-write replaces it", key: pub, changed: true, writes: 3},
		{name: "another key replaces it", key: other, changed: true, writes: 5},
	} {
		changed, err := reconcile(ctx, name, step.key, step.readOnly)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		keys := keys()
		if changed != step.changed || len(keys) != 1 || keys[0].Title != name || keys[0].Key != authorizedKey(step.key) || keys[0].ReadOnly != step.readOnly {
			t.Fatalf("%s: changed=%v keys=%+v", step.name, changed, keys)
		}
		if w := writes(); len(w) != step.writes {
			t.Fatalf("%s: writes %v", step.name, w)
		}
	}
}

// checkRefused fails unless err says want and the refused reconcile wrote
// nothing (writes) and made no repository (exists).
func checkRefused(t *testing.T, err error, want string, writes []string, exists bool) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v; want %q", err, want)
	}
	if len(writes) != 0 || exists {
		t.Fatalf("wrote %v after the error", writes)
	}
}

// checkCloneURLs fails unless repo has the Git servers' clone URLs.
func checkCloneURLs(t *testing.T, repo Repository, httpURL, sshURL string) {
	t.Helper()
	if repo.HTTPURL != httpURL || repo.SSHURL != sshURL {
		t.Fatalf("clone URLs %+v", repo)
	}
}

// checkWrites fails unless the server's recorded writes are want, in order.
func checkWrites(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("writes %q; want %q", got, want)
	}
}

// checkRerunWritesNothing reconciles the repository again and fails when
// that wrote anything.
func checkRerunWritesNothing(t *testing.T, reconcile func(context.Context) (Repository, error), writes func() []string) {
	t.Helper()
	before := len(writes())
	if _, err := reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := writes(); len(w) != before {
		t.Fatalf("the rerun wrote %v", w[before:])
	}
}
