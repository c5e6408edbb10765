package cmd

import (
	"bytes"
	"context"
	"testing"

	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env, testenv.WithWorkloads()) }

// run executes the CLI against the test environment and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := NewRoot(&out)
	root.SetArgs(append([]string{"--kubeconfig", env.Kubeconfig, "--timeout", "60s"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
