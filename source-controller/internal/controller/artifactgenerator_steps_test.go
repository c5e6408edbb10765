package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/runtime/reconcile"
)

// TestArtifactGeneratorValidate: the validate step refuses, with a
// stalling condition naming the field, what the CRD schema lets through.
func TestArtifactGeneratorValidate(t *testing.T) {
	src := func(alias, ns string) sourceextv1beta1.SourceReference {
		return sourceextv1beta1.SourceReference{Alias: alias, Kind: sourcev1.GitRepositoryKind, Name: "repo", Namespace: ns}
	}
	out := func(name, from string) sourceextv1beta1.OutputArtifact {
		return sourceextv1beta1.OutputArtifact{Name: name, Copy: []sourceextv1beta1.CopyOperation{{From: from, To: "@artifact/"}}}
	}
	cases := []struct {
		name      string
		sources   []sourceextv1beta1.SourceReference
		outputs   []sourceextv1beta1.OutputArtifact
		pattern   string
		noCrossNs bool
		reason    string
		message   string
	}{
		{name: "valid", sources: []sourceextv1beta1.SourceReference{src("repo", "")}, outputs: []sourceextv1beta1.OutputArtifact{out("a", "@repo/**")}},
		{name: "cross-namespace allowed by default", sources: []sourceextv1beta1.SourceReference{src("repo", "other")},
			outputs: []sourceextv1beta1.OutputArtifact{out("a", "@repo/**")}},
		{name: "duplicate alias", sources: []sourceextv1beta1.SourceReference{src("repo", ""), src("repo", "")},
			outputs: []sourceextv1beta1.OutputArtifact{out("a", "@repo/**")}, reason: sourceextv1beta1.ValidationFailedReason, message: "duplicate source alias 'repo'"},
		{name: "duplicate artifact", sources: []sourceextv1beta1.SourceReference{src("repo", "")},
			outputs: []sourceextv1beta1.OutputArtifact{out("a", "@repo/**"), out("a", "@repo/x")}, reason: sourceextv1beta1.ValidationFailedReason, message: "duplicate artifact name 'a'"},
		{name: "unknown copy alias", sources: []sourceextv1beta1.SourceReference{src("repo", "")},
			outputs: []sourceextv1beta1.OutputArtifact{out("a", "@other/**")}, reason: sourceextv1beta1.ValidationFailedReason,
			message: "artifact 'a' copy[0] from '@other/**': unknown source alias 'other'"},
		{name: "unknown revision alias", sources: []sourceextv1beta1.SourceReference{src("repo", "")},
			outputs: []sourceextv1beta1.OutputArtifact{{Name: "a", Revision: "@chart", Copy: out("a", "@repo/**").Copy}},
			reason:  sourceextv1beta1.ValidationFailedReason, message: "artifact 'a' revision '@chart': unknown source alias 'chart'"},
		{name: "unknown originRevision alias", sources: []sourceextv1beta1.SourceReference{src("repo", "")},
			outputs: []sourceextv1beta1.OutputArtifact{{Name: "a", OriginRevision: "@git", Copy: out("a", "@repo/**").Copy}},
			reason:  sourceextv1beta1.ValidationFailedReason, message: "artifact 'a' originRevision '@git': unknown source alias 'git'"},
		{name: "cross-namespace refused", sources: []sourceextv1beta1.SourceReference{src("repo", "other")}, noCrossNs: true,
			outputs: []sourceextv1beta1.OutputArtifact{out("a", "@repo/**")}, reason: "AccessDenied",
			message: "spec.sources[repo]: cannot use GitRepository other/repo from namespace apps"},
		{name: "pathPattern", sources: []sourceextv1beta1.SourceReference{src("repo", "")}, pattern: "@repo/apps/{app}",
			outputs: []sourceextv1beta1.OutputArtifact{out("{app}", "@repo/apps/{app}/**")}},
		{name: "pathPattern unknown alias", sources: []sourceextv1beta1.SourceReference{src("repo", "")}, pattern: "@git/apps/{app}",
			outputs: []sourceextv1beta1.OutputArtifact{out("{app}", "@repo/apps/{app}/**")}, reason: sourceextv1beta1.ValidationFailedReason,
			message: "pathPattern '@git/apps/{app}': unknown source alias 'git'"},
		{name: "pathPattern syntax", sources: []sourceextv1beta1.SourceReference{src("repo", "")}, pattern: "@repo/apps/{}",
			outputs: []sourceextv1beta1.OutputArtifact{out("a", "@repo/**")}, reason: sourceextv1beta1.ValidationFailedReason,
			message: "pathPattern '@repo/apps/{}': empty capture '{}'"},
		{name: "placeholder not captured", sources: []sourceextv1beta1.SourceReference{src("repo", "")}, pattern: "@repo/apps/{app}",
			outputs: []sourceextv1beta1.OutputArtifact{out("{app}", "@repo/{env}/**")}, reason: sourceextv1beta1.ValidationFailedReason,
			message: "artifact '{app}' copy[0] from '@repo/{env}/**': placeholder '{env}' is not a capture of the pathPattern"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "gen", Namespace: "apps"},
				Spec: sourceextv1beta1.ArtifactGeneratorSpec{Sources: tc.sources, OutputArtifacts: tc.outputs, PathPattern: tc.pattern}}
			run := &generatorRun{r: &ArtifactGeneratorReconciler{NoCrossNamespaceRefs: tc.noCrossNs}}
			err := run.validate(context.Background(), obj)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var rerr *reconcile.Error
			if !errors.As(err, &rerr) {
				t.Fatalf("want a reconcile error, got %v", err)
			}
			if rerr.Class != reconcile.Stalling || rerr.Reason != tc.reason {
				t.Fatalf("got %s %s, want a stalling %s", rerr.Class, rerr.Reason, tc.reason)
			}
			if got := rerr.Error(); !strings.Contains(got, tc.message) {
				t.Fatalf("message %q does not contain %q", got, tc.message)
			}
		})
	}
}
