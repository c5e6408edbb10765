// Package takeover moves a cluster left exactly as Flux 2.9 leaves it to
// gotk with `gotk install --takeover`, and counts through the API
// server's audit log what that wrote to the objects Flux had applied:
// nothing may be re-applied, pruned, upgraded or reinstalled.
package takeover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gotk.dev/pkg/testenv"
)

// ns is where Flux (and then gotk) runs and its objects live; appsNS is
// where the Kustomizations and Helm releases applied their objects.
const (
	ns     = "flux-system"
	appsNS = "apps"
)

var (
	suite     *testenv.Suite
	auditPath string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "gotk-takeover-audit-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	auditPath = filepath.Join(dir, "audit.log")
	programs := append([]string{"cli"}, testenv.ControllerNames...)
	if suite, err = testenv.StartSuite(ctx, "takeover", ns, programs, testenv.WithWorkloads(), testenv.WithAuditLog(auditPath)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	suite.Stop(code != 0)
	return code
}
