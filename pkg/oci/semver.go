package oci

import (
	"fmt"
	"regexp"

	"github.com/Masterminds/semver/v3"
)

// LatestSemver returns the tag with the highest version within the
// constraint, among the tags matching filter (a regular expression; empty
// matches all). Tags that are not versions are ignored.
func LatestSemver(tags []string, constraint, filter string) (string, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("semver range %q: %w", constraint, err)
	}
	var re *regexp.Regexp
	if filter != "" {
		if re, err = regexp.Compile(filter); err != nil {
			return "", fmt.Errorf("semverFilter %q: %w", filter, err)
		}
	}
	var best *semver.Version
	bestTag := ""
	for _, tag := range tags {
		if re != nil && !re.MatchString(tag) {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestTag = v, tag
		}
	}
	if bestTag == "" {
		return "", fmt.Errorf("no tag matches the semver range %q", constraint)
	}
	return bestTag, nil
}
