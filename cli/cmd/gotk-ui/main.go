// Command gotk-ui serves gotk's web UI: `gotk ui` with the same flags,
// as a program that links only the UI. The in-cluster gotk-ui Deployment
// runs it from the gotk image, and `gotk ui` execs it when it is beside
// gotk, so the server's memory is the UI's alone.
package main

import (
	"fmt"
	"os"

	"gotk.dev/cli/internal/kubeflags"
	"gotk.dev/cli/internal/uicmd"
)

func main() {
	var k kubeflags.Flags
	cmd := uicmd.New(&k, os.Stdout, false)
	cmd.Use = uicmd.Binary
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	k.AddFlags(cmd.PersistentFlags())
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "✗", err)
		os.Exit(1)
	}
}
