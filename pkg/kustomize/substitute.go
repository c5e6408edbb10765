package kustomize

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/fluxcd/pkg/envsubst"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// varNamePattern is what a substitution variable may be called (Flux's
// rule; RE2's [:alpha:] is ASCII only).
const varNamePattern = `^[_[:alpha:]][_[:alpha:][:digit:]]*$`

var varName = regexp.MustCompile(varNamePattern)

// ValidVarName reports whether name can be used as a variable.
func ValidVarName(name string) bool { return varName.MatchString(name) }

// Substitution is spec.postBuild's variable substitution. Build runs it
// on each object's YAML as kustomize prints it (after commonMetadata),
// as Flux does: quotes in the sources do not survive, so a result that
// reads as a number becomes one.
type Substitution struct {
	// Vars are the variables by name.
	Vars map[string]string
	// Strict is Flux's StrictPostBuildSubstitutions: a variable referenced
	// without a value or default fails the build instead of becoming "".
	Strict bool
}

// PostBuildSubstitution is the one way the controller and the CLI set up
// substitution from a Kustomization's spec.postBuild: variables from
// substituteFrom (read through r; with r nil only the inline ones, as a
// build without a cluster) and substitute. It returns nil when there is
// nothing to substitute: no postBuild, or no variable and the strategy
// is not Always.
func PostBuildSubstitution(ctx context.Context, r client.Reader, namespace string, pb *kustomizev1.PostBuild, strict bool) (*Substitution, error) {
	if pb == nil {
		return nil, nil
	}
	vars, err := Variables(ctx, r, namespace, pb)
	if err != nil {
		return nil, fmt.Errorf("post-build: %w", err)
	}
	if len(vars) == 0 && pb.SubstituteStrategy != kustomizev1.SubstituteStrategyAlways {
		return nil, nil
	}
	return &Substitution{Vars: vars, Strict: strict}, nil
}

// validate checks the variable names, as Flux does before substituting.
func (s *Substitution) validate() error {
	for name := range s.Vars {
		if !ValidVarName(name) {
			return fmt.Errorf("post-build: variable name %q is invalid, must match %s", name, varNamePattern)
		}
	}
	return nil
}

// Disabled reports whether an object with these labels and annotations
// opts out of substitution. As in Flux the value is matched exactly, on
// the label or the annotation.
func Disabled(labels, annotations map[string]string) bool {
	key := kustomizev1.SubstituteAnnotation
	return labels[key] == kustomizev1.DisabledValue || annotations[key] == kustomizev1.DisabledValue
}

// Text replaces ${var} expressions in text (bash-style operators
// included, through Flux's envsubst); "$$" writes a literal "$", so
// "$${var}" stays "${var}". Errors name an undefined variable (strict)
// or the malformed expression's fault, never a value.
func (s *Substitution) Text(text string) (string, error) {
	if !strings.Contains(text, "$") {
		return text, nil
	}
	out, err := envsubst.Eval(text, func(name string) (string, bool) {
		v, ok := s.Vars[name]
		return v, ok || !s.Strict
	})
	if err != nil {
		return "", fmt.Errorf("variable substitution failed: %w", err)
	}
	return out, nil
}
