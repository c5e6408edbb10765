package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gotk.dev/pkg/kustomize"
)

// SopsHelper is the command decrypting SOPS files for --decrypt-key; it
// is looked up next to the gotk binary, then on PATH, unless the
// environment variable EnvSopsHelper names it. The SOPS library links
// every cloud KMS client (and package testing), so gotk runs it as a
// separate program rather than linking it.
const SopsHelper = "gotk-sops"

// EnvSopsHelper names the gotk-sops binary to run.
const EnvSopsHelper = "GOTK_SOPS"

// The helper's exit codes (see its package doc).
const (
	helperDecryptFailed = 1
	helperUnchanged     = 3
)

// sopsMarker is in the MAC of every SOPS-encrypted file, whatever its
// store; a file without it is returned without running the helper.
var sopsMarker = []byte("ENC[AES256_GCM,")

// helperTimeout bounds one file's decryption.
const helperTimeout = time.Minute

// helperDecryptor decrypts with the gotk-sops helper and the key files
// of --decrypt-key, as kustomize-controller decrypts with a Secret's keys.
type helperDecryptor struct {
	bin  string
	args []string
}

// loadDecryptor finds the helper and has it read the --decrypt-key files,
// so a bad key file fails the run before any build.
func loadDecryptor(ctx context.Context, files []string) (kustomize.FileDecryptor, error) {
	if len(files) == 0 {
		return nil, nil
	}
	bin, err := findSopsHelper()
	if err != nil {
		return nil, err
	}
	d := &helperDecryptor{bin: bin}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("--decrypt-key %s: %w", f, err)
		}
		d.args = append(d.args, "--key", abs)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"check"}, d.args...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("--decrypt-key: %s", helperMessage(&stderr, err))
	}
	return d, nil
}

// findSopsHelper returns $GOTK_SOPS, else gotk-sops beside the running
// binary, else on PATH.
func findSopsHelper() (string, error) {
	if p := os.Getenv(EnvSopsHelper); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), SopsHelper)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(SopsHelper); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("--decrypt-key needs the %s program (built by `make build`, or go install gotk.dev/pkg/sops/cmd/gotk-sops): it is not beside gotk nor on PATH, and $%s is not set", SopsHelper, EnvSopsHelper)
}

// DecryptFile decrypts name's content with the helper; files without
// SOPS's marker are returned as they are.
func (d *helperDecryptor) DecryptFile(name string, data []byte) ([]byte, bool, error) {
	if !bytes.Contains(data, sopsMarker) {
		return data, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, d.bin, append(append([]string{"decrypt"}, d.args...), name)...)
	cmd.Stdin = bytes.NewReader(data)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), true, nil
	case errors.As(err, &exit) && exit.ExitCode() == helperUnchanged:
		return data, false, nil
	case errors.As(err, &exit) && exit.ExitCode() == helperDecryptFailed:
		return nil, false, fmt.Errorf("%w: %s", kustomize.ErrDecryption, strings.TrimSpace(stderr.String()))
	}
	return nil, false, fmt.Errorf("%w: %s: %s %s", kustomize.ErrDecryption, name, SopsHelper, helperMessage(&stderr, err))
}

// helperMessage is the helper's own message, else how it ended.
func helperMessage(stderr *bytes.Buffer, err error) string {
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return s
	}
	return err.Error()
}
