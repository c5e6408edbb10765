// Command gotk-sops decrypts one SOPS file with age or OpenPGP key files,
// through gotk.dev/pkg/sops: the decryption kustomize-controller runs.
// `gotk test --decrypt-key` runs it, so the gotk binary links neither the
// SOPS library's cloud KMS clients nor its dependency on package testing.
//
//	gotk-sops check --key FILE...          read the keys, exit 0 or 2
//	gotk-sops decrypt --key FILE... NAME   stdin to stdout (NAME picks the store)
//
// Exit codes of decrypt: 0 decrypted, 3 not encrypted (stdout is the
// input), 1 the file cannot be decrypted (stderr says why, never a
// value), 2 bad usage or key file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gotk.dev/pkg/sops"
)

// Exit codes, shared with the caller through the package doc.
const (
	exitDecryptFailed = 1
	exitUsage         = 2
	exitUnchanged     = 3
)

type keyFiles []string

func (k *keyFiles) String() string     { return strings.Join(*k, ",") }
func (k *keyFiles) Set(v string) error { *k = append(*k, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) == 0 || (args[0] != "check" && args[0] != "decrypt") {
		fmt.Fprintln(errOut, "usage: gotk-sops check|decrypt --key FILE... [NAME]")
		return exitUsage
	}
	fs := flag.NewFlagSet("gotk-sops "+args[0], flag.ContinueOnError)
	fs.SetOutput(errOut)
	var keys keyFiles
	fs.Var(&keys, "key", "file of age identities, or an armored OpenPGP private key named *.asc (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	d, err := load(keys)
	if err != nil {
		fmt.Fprintln(errOut, err)
		return exitUsage
	}
	if args[0] == "check" {
		if fs.NArg() != 0 {
			fmt.Fprintln(errOut, "gotk-sops check takes no arguments")
			return exitUsage
		}
		return 0
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(errOut, "gotk-sops decrypt takes the file's name (it selects the SOPS store)")
		return exitUsage
	}
	b, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(errOut, err)
		return exitUsage
	}
	plain, decrypted, err := d.DecryptFile(fs.Arg(0), b)
	if err != nil {
		// pkg/sops's errors name the file and cause; drop the generic prefix
		// the caller adds again.
		fmt.Fprintln(errOut, strings.TrimPrefix(err.Error(), sops.ErrDecryption.Error()+": "))
		return exitDecryptFailed
	}
	if _, err := out.Write(plain); err != nil {
		return exitUsage
	}
	if !decrypted {
		return exitUnchanged
	}
	return 0
}

// load reads key files as kustomize-controller reads a decryption
// Secret's entries: *.asc is an OpenPGP key, any other file age
// identities.
func load(files []string) (*sops.Decryptor, error) {
	if len(files) == 0 {
		return nil, errors.New("no --key given")
	}
	d, err := sops.NewDecryptor(nil)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		if !strings.HasSuffix(name, sops.PGPKeySuffix) {
			name = strings.TrimSuffix(name, sops.AgeKeySuffix) + sops.AgeKeySuffix
		}
		if err := d.AddKey(name, data); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return d, nil
}
