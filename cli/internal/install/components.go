package install

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Aliases map Flux's component names to the gotk controller that does
// their job, so Flux's flags work unchanged: gotk's
// image-automation-controller also scans registries and evaluates policies
// (Flux's image-reflector-controller), and source-controller serves
// ArtifactGenerator (Flux's source-watcher).
var Aliases = map[string]string{
	"image-reflector-controller": "image-automation-controller",
	"source-watcher":             "source-controller",
}

// SelectComponents returns the controllers that --components and
// --components-extra name together (controllers and Extras): aliases
// resolved, duplicates dropped, in the order of Components then Extras. An unknown name is an error naming the flag.
func SelectComponents(components, extra []string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range []struct {
		flag  string
		names []string
	}{{"--components", components}, {"--components-extra", extra}} {
		for _, n := range f.names {
			n = strings.TrimSpace(n)
			if a, ok := Aliases[n]; ok {
				n = a
			}
			if !slices.Contains(Components, n) && !slices.Contains(Extras, n) {
				return nil, fmt.Errorf("%s: unknown component %q (known: %s; Flux's %s)", f.flag, n,
					strings.Join(append(slices.Clone(Components), Extras...), ", "), strings.Join(slices.Sorted(maps.Keys(Aliases)), ", "))
			}
			want[n] = true
		}
	}
	var out []string
	for _, c := range append(slices.Clone(Components), Extras...) {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}
