// Package policy chooses the latest tag among an image repository's tags
// by an ImagePolicy's rule: semantic version range, alphabetical or
// numerical order, after the optional filterTags pattern and extract.
package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/Masterminds/semver/v3"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

// ErrNoMatch means no tag passed the filter and the policy.
var ErrNoMatch = errors.New("no tag matches the policy")

// Orderer picks the best of the candidates, or reports why none qualifies.
type Orderer interface {
	// Latest returns the chosen candidate.
	Latest(candidates []Candidate) (Candidate, error)
	// String describes the rule for messages.
	String() string
}

// Selector is a compiled ImagePolicy spec.
type Selector struct {
	filter  *Filter
	orderer Orderer
}

// New compiles the policy and filter of an ImagePolicy spec; its errors
// describe what a user must fix (invalid range, regular expression, order).
func New(spec imagev1.ImagePolicySpec) (*Selector, error) {
	var f *Filter
	var err error
	if spec.FilterTags != nil {
		f, err = NewFilter(spec.FilterTags.Pattern, spec.FilterTags.Extract)
	} else {
		f, err = NewFilter("", "")
	}
	if err != nil {
		return nil, err
	}
	o, err := newOrderer(spec.Policy)
	if err != nil {
		return nil, err
	}
	return &Selector{filter: f, orderer: o}, nil
}

func newOrderer(p imagev1.ImagePolicyChoice) (Orderer, error) {
	set := 0
	for _, b := range []bool{p.SemVer != nil, p.Alphabetical != nil, p.Numerical != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("spec.policy must set exactly one of semver, alphabetical or numerical, got %d", set)
	}
	switch {
	case p.SemVer != nil:
		return NewSemVer(p.SemVer.Range)
	case p.Alphabetical != nil:
		return NewAlphabetical(p.Alphabetical.Order)
	default:
		return NewNumerical(p.Numerical.Order)
	}
}

// Select returns the latest tag among tags, or an error wrapping
// ErrNoMatch, or an ordering error (a tag that is not a number).
func (s *Selector) Select(tags []string) (string, error) {
	cands := s.filter.Apply(tags)
	if len(cands) == 0 {
		return "", fmt.Errorf("%w: none of the %d tags passes filterTags", ErrNoMatch, len(tags))
	}
	c, err := s.orderer.Latest(cands)
	if err != nil {
		return "", err
	}
	return c.Tag, nil
}

// String describes the rule.
func (s *Selector) String() string { return s.orderer.String() }

// SemVer picks the highest version within a range.
type SemVer struct {
	rng        string
	constraint *semver.Constraints
}

// NewSemVer parses a range such as ">=1.0.0 <2.0.0". Pre-releases are
// considered only when the range itself names one (e.g. ">=1.0.0-0").
func NewSemVer(rng string) (*SemVer, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return nil, fmt.Errorf("invalid semver range %q: %w", rng, err)
	}
	return &SemVer{rng: rng, constraint: c}, nil
}

// Latest implements Orderer. Values that are not versions (a leading "v"
// is accepted) are skipped; of equal versions the greater tag wins, so the
// choice does not depend on listing order.
func (p *SemVer) Latest(cands []Candidate) (Candidate, error) {
	var best Candidate
	var bestV *semver.Version
	for _, c := range cands {
		v, err := semver.NewVersion(c.Value)
		if err != nil || !p.constraint.Check(v) {
			continue
		}
		if bestV == nil || v.GreaterThan(bestV) || (v.Equal(bestV) && c.Tag > best.Tag) {
			best, bestV = c, v
		}
	}
	if bestV == nil {
		return Candidate{}, fmt.Errorf("%w: no version within range %q among %d tags", ErrNoMatch, p.rng, len(cands))
	}
	return best, nil
}

// String implements Orderer.
func (p *SemVer) String() string { return "semver " + p.rng }

// Alphabetical picks the tag that sorts last (asc) or first (desc).
type Alphabetical struct{ desc bool }

func parseOrder(order string) (desc bool, err error) {
	switch order {
	case "", imagev1.OrderAsc:
		return false, nil
	case imagev1.OrderDesc:
		return true, nil
	default:
		return false, fmt.Errorf("invalid order %q: must be %q or %q", order, imagev1.OrderAsc, imagev1.OrderDesc)
	}
}

// NewAlphabetical returns the rule for order "asc" (default) or "desc".
func NewAlphabetical(order string) (*Alphabetical, error) {
	desc, err := parseOrder(order)
	if err != nil {
		return nil, fmt.Errorf("alphabetical: %w", err)
	}
	return &Alphabetical{desc: desc}, nil
}

// Latest implements Orderer; ties on the value go to the greater tag.
func (p *Alphabetical) Latest(cands []Candidate) (Candidate, error) {
	best := cands[0]
	for _, c := range cands[1:] {
		better := c.Value > best.Value
		if p.desc {
			better = c.Value < best.Value
		}
		if better || (c.Value == best.Value && c.Tag > best.Tag) {
			best = c
		}
	}
	return best, nil
}

// String implements Orderer.
func (p *Alphabetical) String() string {
	if p.desc {
		return "alphabetical desc"
	}
	return "alphabetical asc"
}

// Numerical picks the largest (asc) or smallest (desc) number.
type Numerical struct{ desc bool }

// NewNumerical returns the rule for order "asc" (default) or "desc".
func NewNumerical(order string) (*Numerical, error) {
	desc, err := parseOrder(order)
	if err != nil {
		return nil, fmt.Errorf("numerical: %w", err)
	}
	return &Numerical{desc: desc}, nil
}

// Latest implements Orderer. A value that is not a number is an error
// naming the tag: the filter must exclude such tags.
func (p *Numerical) Latest(cands []Candidate) (Candidate, error) {
	var best Candidate
	var bestN float64
	for i, c := range cands {
		n, err := strconv.ParseFloat(c.Value, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return Candidate{}, fmt.Errorf("numerical policy: tag %q gives %q, which is not a number; narrow the tags with filterTags", c.Tag, c.Value)
		}
		better := n > bestN
		if p.desc {
			better = n < bestN
		}
		if i == 0 || better || (n == bestN && c.Tag > best.Tag) {
			best, bestN = c, n
		}
	}
	return best, nil
}

// String implements Orderer.
func (p *Numerical) String() string {
	if p.desc {
		return "numerical desc"
	}
	return "numerical asc"
}
