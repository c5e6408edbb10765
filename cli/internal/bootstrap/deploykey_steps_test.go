package bootstrap

import (
	"context"
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
