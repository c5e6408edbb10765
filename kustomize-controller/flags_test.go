package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFlagErrors: refused flag values exit 2 with a message naming the
// flag, before the controller connects anywhere.
func TestFlagErrors(t *testing.T) {
	if args, ok := os.LookupEnv("KUSTOMIZE_CONTROLLER_ARGS"); ok {
		os.Args = append([]string{controllerName}, strings.Fields(args)...)
		main()
		return
	}
	tests := []struct{ args, want string }{
		{"--default-decryption-service-account=kms", "--default-decryption-service-account needs the ObjectLevelWorkloadIdentity feature gate"},
		{"--default-decryption-service-account=Bad_Name --feature-gates=ObjectLevelWorkloadIdentity=true", `--default-decryption-service-account="Bad_Name" is not a service account name`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlagErrors$")
			cmd.Env = append(os.Environ(), "KUSTOMIZE_CONTROLLER_ARGS="+tt.args)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
				t.Fatalf("want exit 2 and %q, got %v:\n%s", tt.want, err, out)
			}
		})
	}
}
