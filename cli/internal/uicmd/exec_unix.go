//go:build unix

package uicmd

import (
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"
)

// execBeside replaces the process with Binary beside the executable,
// with cmd's flags; it returns nil, and the caller serves in-process,
// when there is none. Exec, not a child: signals, the exit code and the
// output stay the command's, and no gotk pages stay resident.
func execBeside(cmd *cobra.Command) error {
	p := besideExecutable()
	if p == "" {
		return nil
	}
	if err := syscall.Exec(p, append([]string{p}, flagArgs(cmd)...), os.Environ()); err != nil {
		return fmt.Errorf("running %s: %w", p, err)
	}
	return nil // not reached: exec replaced the process
}
