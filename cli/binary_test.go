package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testOnly are packages that only tests may link: package testing (and
// testing/...), gotk's test layers and the S3 fake testserver runs. The
// gotk binary carries the local cluster and servers it ships
// (pkg/localcluster, pkg/localserver) without them.
var testOnly = []string{
	"testing",
	"gotk.dev/pkg/testenv",
	"gotk.dev/pkg/testserver",
	"github.com/johannesboyne/gofakes3",
}

// isTestOnly reports whether package path is, or is under, a test-only package.
func isTestOnly(path string) (string, bool) {
	for _, p := range testOnly {
		if path == p || strings.HasPrefix(path, p+"/") {
			return p, true
		}
	}
	return "", false
}

// TestBinaryImportsNoTestPackage lists the gotk command's dependencies.
func TestBinaryImportsNoTestPackage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "gotk.dev/pkg/localcluster") || !slices.Contains(deps, "gotk.dev/pkg/localserver") {
		t.Fatalf("gotk does not link pkg/localcluster and pkg/localserver; the check below would prove nothing:\n%s", out)
	}
	for _, dep := range deps {
		if p, bad := isTestOnly(dep); bad {
			t.Errorf("gotk imports %s (test-only %s)", dep, p)
		}
	}
}

// nmSymbol takes the name from a `go tool nm` line: "addr type name",
// "type name" for undefined symbols; cgo's file entries may have no name.
var nmSymbol = regexp.MustCompile(`^\s*(?:[0-9a-f]+\s+)?\S(?:\s+(.*))?$`)

// TestBinaryHasNoTestSymbols builds gotk and reads its symbol table: no
// function or variable of a test-only package, e.g. testing.tRunner or
// testing.init, was linked in.
func TestBinaryHasNoTestSymbols(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "gotk")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	found := map[string]string{} // test-only package -> first symbol seen
	sawMain := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := nmSymbol.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected go tool nm line %q", line)
		}
		sawMain = sawMain || m[1] == "main.main"
		for _, p := range testOnly {
			if _, seen := found[p]; !seen && (strings.HasPrefix(m[1], p+".") || strings.HasPrefix(m[1], p+"/")) {
				found[p] = m[1]
			}
		}
	}
	if !sawMain {
		t.Fatal("no main.main in go tool nm's output: the symbol names were not read")
	}
	for p, sym := range found {
		t.Errorf("gotk links test-only %s (e.g. symbol %s)", p, sym)
	}
}
