package imagebuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"gotk.dev/pkg/version"
)

// goBuild compiles every component for one platform with a single
// `go build -o dir/` (packages shared by the components compile once) and
// returns each package's binary path. The flags make the binaries static
// and reproducible: no cgo, no file system paths (-trimpath), no VCS stamp
// (the revision is in the image labels), no symbol table or DWARF, and the
// microarchitecture levels pinned to their defaults so that the build
// host's environment cannot change them.
func goBuild(ctx context.Context, o Options, p platform, dir string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags", fmt.Sprintf("-s -w -X %s.Version=%s", version.Path, o.Version),
		"-o", dir + string(filepath.Separator)}
	bins := map[string]string{}   // package → binary
	byBase := map[string]string{} // binary name → package
	for _, c := range o.Components {
		for _, pkg := range append([]string{c.Package}, c.Helpers...) {
			if _, ok := bins[pkg]; ok {
				continue // one binary serves every image holding it
			}
			base := path.Base(filepath.ToSlash(pkg))
			if other, ok := byBase[base]; ok {
				return nil, fmt.Errorf("packages %s and %s (of %s) both build a binary named %q", other, pkg, c.Name, base)
			}
			byBase[base] = pkg
			bins[pkg] = filepath.Join(dir, base)
			args = append(args, pkg)
		}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.Root
	// GOFLAGS is cleared: a caller's -tags or -race must not change images.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch, "GOFLAGS=",
		"GOAMD64=v1", "GOARM64=v8.0", "GOARM=7", "GO386=sse2")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	logf(o, "GOOS=%s GOARCH=%s go %s", p.os, p.arch, shellJoin(args))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build for %s: %w\n%s", p, err, strings.TrimSpace(stderr.String()))
	}
	return bins, nil
}

func logf(o Options, format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// shellJoin quotes the arguments that need it, for the log line.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if strings.ContainsAny(a, " \t\"'") {
			quoted[i] = strconv.Quote(a)
		}
	}
	return strings.Join(quoted, " ")
}
