package uicmd

import (
	"io"
	"slices"
	"testing"

	"github.com/spf13/cobra"

	"gotk.dev/cli/internal/kubeflags"
)

// TestFlagArgs: the flags gotk ui was given, its own and the inherited
// cluster flags, become the arguments gotk-ui gets, and parse there to the
// same values.
func TestFlagArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"none", []string{"ui"}, nil},
		{"global and own", []string{"--kubeconfig", "/k", "-n", "team", "ui", "--address", "0.0.0.0:1", "--auth=read-only"},
			[]string{"--address=0.0.0.0:1", "--auth=read-only", "--kubeconfig=/k", "--namespace=team"}},
		{"list flag and bool", []string{"ui", "--trusted-proxy-cidr", "10.0.0.0/8,192.168.0.0/16", "--in-cluster"},
			[]string{"--in-cluster=true", "--trusted-proxy-cidr=10.0.0.0/8", "--trusted-proxy-cidr=192.168.0.0/16"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			parse := func(args []string, sub bool) *cobra.Command {
				var k kubeflags.Flags
				ui := New(&k, io.Discard, false)
				root := ui
				if sub {
					root = &cobra.Command{Use: "gotk"}
					root.AddCommand(ui)
				}
				k.AddFlags(root.PersistentFlags())
				ui.RunE = func(cmd *cobra.Command, _ []string) error { got = flagArgs(cmd); return nil }
				root.SetArgs(args)
				if err := root.Execute(); err != nil {
					t.Fatal(err)
				}
				return ui
			}
			parse(tc.args, true)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// gotk-ui parses them back to the same arguments.
			first := got
			parse(first, false)
			if !slices.Equal(got, first) {
				t.Fatalf("gotk-ui reads %q back as %q", first, got)
			}
		})
	}
}
