package action

import (
	"testing"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

func TestApplyMethod(t *testing.T) {
	for _, tc := range []struct {
		mode                    helmv2.ServerSideApplyMode
		force                   bool
		previous                string
		ssa                     string
		forceConflicts, replace bool
	}{
		{mode: helmv2.ServerSideApplyAuto, previous: "ssa", ssa: "true", forceConflicts: true},
		{mode: helmv2.ServerSideApplyAuto, previous: "csa", ssa: "false"},
		{mode: helmv2.ServerSideApplyAuto, previous: "", ssa: "false"},
		{mode: "", previous: "ssa", ssa: "true", forceConflicts: true},
		{mode: helmv2.ServerSideApplyEnabled, previous: "csa", ssa: "true", forceConflicts: true},
		{mode: helmv2.ServerSideApplyDisabled, previous: "ssa", ssa: "false"},
		{mode: helmv2.ServerSideApplyAuto, force: true, previous: "ssa", ssa: "false", replace: true},
		{mode: helmv2.ServerSideApplyEnabled, force: true, previous: "ssa", ssa: "true", replace: true},
	} {
		ssa, fc, replace := applyMethod(tc.mode, tc.force, tc.previous)
		if ssa != tc.ssa || fc != tc.forceConflicts || replace != tc.replace {
			t.Errorf("applyMethod(%q, %v, %q) = %s, %v, %v; want %s, %v, %v", tc.mode, tc.force, tc.previous,
				ssa, fc, replace, tc.ssa, tc.forceConflicts, tc.replace)
		}
	}
}
