// Command gotk is the gotk command line: install and day-2 operations, and
// `gotk dev` for a local control plane with the controllers.
package main

import (
	"os"

	"gotk.dev/cli/internal/cmd"
)

func main() {
	os.Exit(cmd.Execute(os.Args[1:]))
}
