package fieldcoverage

import (
	"sort"
	"strings"
	"testing"
)

// TestFieldCoverage: every spec field of every kind has an entry in
// coverage; a test entry names a Test function of the repository; every
// field but the pending ones and those Flux ignores is read by its
// controller's code (its module, or pkg outside the API types, directly or
// through an accessor the code calls) from that kind's own type, resolved
// by type-checking; no entry names a field that does not exist.
func TestFieldCoverage(t *testing.T) {
	fields, err := specFields()
	if err != nil {
		t.Fatal(err)
	}
	tests, err := testNames()
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	seenMod := map[string]bool{}
	for _, m := range controllerModule {
		if !seenMod[m] {
			seenMod[m] = true
			mods = append(mods, m)
		}
	}
	sort.Strings(mods)
	typed, err := loadTypedReads(mods)
	if err != nil {
		t.Fatal(err)
	}

	known := map[string]bool{}
	counts := map[string]int{}
	var untested []string
	for _, f := range fields {
		known[f.path] = true
		entry, ok := coverage[f.path]
		if !ok {
			t.Errorf("%s: no coverage entry; name the test that checks its effect", f.path)
			continue
		}
		kind, _, _ := strings.Cut(f.path, ".")
		status, _, _ := strings.Cut(entry, ":")
		switch {
		case strings.HasPrefix(entry, "Test"):
			status = "tested"
			if !tests[entry] {
				t.Errorf("%s: test %s does not exist", f.path, entry)
			}
		case status == "untested":
			untested = append(untested, f.path)
		case status == "refused", status == "pending", status == "flux-ignores":
		default:
			t.Errorf("%s: entry %q is not a test name or untested:/refused:/pending:", f.path, entry)
		}
		counts[status]++
		mod, ok := controllerModule[kind]
		if !ok {
			t.Errorf("%s: kind %s has no controller module", f.path, kind)
			continue
		}
		if status != "pending" && status != "flux-ignores" && !typed.reads(mod, f.owner) {
			t.Errorf("%s: no code of %s or pkg reads %s: the field is silently ignored", f.path, mod, f.owner)
		}
	}
	var stale []string
	for path := range coverage {
		if !known[path] {
			stale = append(stale, path)
		}
	}
	sort.Strings(stale)
	for _, p := range stale {
		t.Errorf("%s: coverage entry for a field that does not exist", p)
	}
	t.Logf("%d spec fields: %d tested, %d untested, %d refused, %d pending, %d ignored as by Flux",
		len(fields), counts["tested"], counts["untested"], counts["refused"], counts["pending"], counts["flux-ignores"])
	if testing.Verbose() {
		for _, p := range untested {
			t.Logf("untested: %s", p)
		}
	}
}
