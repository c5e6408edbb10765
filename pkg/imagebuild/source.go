package imagebuild

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SourceDate is the time every image of a build carries (config created,
// history, file modification times), so that two builds of one commit give
// the same digests:
//   - $SOURCE_DATE_EPOCH when set (the reproducible-builds convention);
//   - else the commit time of HEAD in root (`git log -1 --format=%ct`);
//   - else the Unix epoch (not a Git checkout, e.g. a source tarball).
func SourceDate(root string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	out, err := git(root, "log", "-1", "--format=%ct")
	if err != nil {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time %q: %w", out, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Revision is HEAD's commit in root, or "unknown" outside a Git checkout.
func Revision(root string) string {
	out, err := git(root, "rev-parse", "HEAD")
	if err != nil {
		return "unknown"
	}
	return out
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}
