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

// testingImporters are the third-party packages gotk links that import
// package testing outside their tests, each with why it is accepted;
// testing is then linked but never run (its flags register only in
// testing.Init, which only test binaries call). Any other importer fails.
var testingImporters = map[string]string{
	// Flux's go-git-providers, the client bootstrap bitbucket-server uses:
	// its multierror.go exports a test helper taking testing.TB.
	"github.com/fluxcd/go-git-providers/validation": "exports TestExpectErrors",
	// Helm 4 asks testing.Testing() to give test binaries a fixed
	// client-go version and default Kubernetes capabilities; a binary
	// reads both from its build information.
	"helm.sh/helm/v4/internal/version": "calls testing.Testing for the client-go version",
	"helm.sh/helm/v4/pkg/chart/common": "calls testing.Testing for the default capabilities",
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
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var deps []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		deps = append(deps, fields[0])
		if _, ok := testingImporters[fields[0]]; !ok && slices.Contains(fields[1:], "testing") {
			t.Errorf("%s imports testing outside its tests", fields[0])
		}
	}
	if !slices.Contains(deps, "gotk.dev/pkg/localcluster") || !slices.Contains(deps, "gotk.dev/pkg/localserver") {
		t.Fatalf("gotk does not link pkg/localcluster and pkg/localserver; the check below would prove nothing:\n%s", out)
	}
	for _, dep := range deps {
		if dep == "testing" {
			continue // its importers are checked above
		}
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
			if p == "testing" && len(testingImporters) > 0 {
				continue // linked for testingImporters, whose imports the test above checks
			}
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
