package cosign_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotk.dev/source-controller/internal/cosign"
	"gotk.dev/source-controller/internal/cosign/cosigntest"
)

// The controller's trusted root (--sigstore-trusted-root) is read from
// its file once; a missing or invalid file is refused saying which.
func TestVerifyDefaultTrustedRoot(t *testing.T) {
	t.Cleanup(func() { cosign.SetDefaultTrustedRoot("") })
	dir := t.TempDir()
	ss := must(cosigntest.NewSigstore())
	t.Cleanup(ss.Close)
	good := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(good, must(ss.TrustedRootJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"mediaType": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		path, wantErr string
	}{
		"valid":   {path: good},
		"missing": {path: filepath.Join(dir, "none.json"), wantErr: "reading the Sigstore trusted root: open " + filepath.Join(dir, "none.json")},
		"invalid": {path: bad, wantErr: bad + ": not a Sigstore trusted root: "},
	} {
		t.Run(name, func(t *testing.T) {
			cosign.SetDefaultTrustedRoot(tc.path)
			tm, err := cosign.DefaultTrustedRoot()
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The test Sigstore's own CA and log, and the virtual one's.
			if len(tm.FulcioCertificateAuthorities()) != 2 || len(tm.RekorLogs()) != 2 || len(tm.TimestampingAuthorities()) != 1 {
				t.Fatalf("trusted root has %d CAs, %d logs, %d TSAs; want 2, 2, 1",
					len(tm.FulcioCertificateAuthorities()), len(tm.RekorLogs()), len(tm.TimestampingAuthorities()))
			}
			// Read once: removing the file changes nothing.
			if err := os.Remove(tc.path); err != nil {
				t.Fatal(err)
			}
			if again, err := cosign.DefaultTrustedRoot(); err != nil || again != tm {
				t.Fatalf("second read: %v, same root %v", err, again == tm)
			}
		})
	}
}
