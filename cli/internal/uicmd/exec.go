package uicmd

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Binary is the UI server's own program: the ui command and nothing else
// of gotk, so its resident memory is the UI's, not the pages of every
// library gotk links.
const Binary = "gotk-ui"

// besideExecutable returns the path of Binary in the running executable's
// directory, or "" when it is not there. Only that place is looked at, not
// PATH: the one beside gotk comes from the same build or image.
func besideExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	p := filepath.Join(filepath.Dir(exe), Binary)
	if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return ""
	}
	return p
}

// flagArgs turns cmd's set flags, its own and inherited, back into
// arguments, each as --name=value; a list flag gives one per element.
func flagArgs(cmd *cobra.Command) []string {
	var args []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		if s, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range s.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	return args
}
