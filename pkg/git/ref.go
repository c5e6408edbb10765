package git

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// DefaultBranch is the branch checked out when a Reference names nothing.
const DefaultBranch = "master"

// Reference selects what to check out. Precedence, as Flux's
// GitRepositoryRef: Commit > Name > SemVer > Tag > Branch; an empty
// Reference means DefaultBranch. Branch still qualifies Commit: the commit
// is searched on that branch and the revision carries the branch name.
type Reference struct {
	Branch string
	Tag    string
	SemVer string
	Name   string
	Commit string
}

// Kind names the field of r that decides the checkout.
func (r Reference) Kind() string {
	switch {
	case r.Commit != "":
		return "commit"
	case r.Name != "":
		return "name"
	case r.SemVer != "":
		return "semver"
	case r.Tag != "":
		return "tag"
	default:
		return "branch"
	}
}

// Validate checks the fields that can be checked without the remote: the
// commit is full hex (SHA-1 or SHA-256), the name a full ref ("refs/..."),
// the semver a valid constraint, and branch/tag/name valid ref names.
func (r Reference) Validate() error {
	if r.Commit != "" {
		if _, err := hex.DecodeString(r.Commit); err != nil || (len(r.Commit) != 40 && len(r.Commit) != 64) {
			return fmt.Errorf("invalid commit %q: want a full SHA-1 or SHA-256 hex", r.Commit)
		}
	}
	if r.Name != "" {
		if !strings.HasPrefix(r.Name, "refs/") || !validRefName(r.Name) {
			return fmt.Errorf("invalid ref name %q: want a full reference such as refs/heads/main", r.Name)
		}
	}
	if r.SemVer != "" {
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return fmt.Errorf("invalid semver constraint %q: %v", r.SemVer, err)
		}
	}
	if r.Tag != "" && !validRefName("refs/tags/"+r.Tag) {
		return fmt.Errorf("invalid tag name %q", r.Tag)
	}
	if r.Branch != "" && !validRefName("refs/heads/"+r.Branch) {
		return fmt.Errorf("invalid branch name %q", r.Branch)
	}
	return nil
}

// validRefName applies the rules of git check-ref-format that matter for
// safety and clear errors.
func validRefName(name string) bool {
	if name == "" || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") ||
		strings.HasSuffix(name, ".lock") || strings.Contains(name, "..") ||
		strings.Contains(name, "//") || strings.Contains(name, "@{") || name == "@" {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

// RemoteRef is one advertised reference: its full name and the commit it
// points to (peeled through annotated tags).
type RemoteRef struct {
	Name   string
	Commit string
}

// Resolution is a Reference resolved against a remote's refs.
type Resolution struct {
	// RefName is the full ref to fetch ("refs/heads/main"), or "" when
	// only a commit is known and history must be searched.
	RefName string
	// Commit is the commit hex to check out.
	Commit string
	// Revision is Flux's revision string: "main@sha1:<hex>",
	// "v1.0.0@sha1:<hex>", "refs/pull/1/head@sha1:<hex>" or "sha1:<hex>".
	Revision string
	// Shallow reports that a depth-1 fetch of RefName is enough.
	Shallow bool
	// Short is the name the revision shows before "@" ("main", "v1.0.0",
	// "refs/pull/1/head"); empty for a commit without a branch.
	Short string
}

// Unresolved returns the Resolution of a branch, tag or name reference
// without listing the remote: Commit and Revision are left empty and Clone
// fills them from what it fetched (one round trip fewer for a first
// fetch). It returns nil for commit and semver references, which need the
// listing or history.
func Unresolved(ref Reference) (*Resolution, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	switch ref.Kind() {
	case "name":
		return &Resolution{RefName: ref.Name, Short: ref.Name, Shallow: true}, nil
	case "tag":
		return &Resolution{RefName: "refs/tags/" + ref.Tag, Short: ref.Tag, Shallow: true}, nil
	case "branch":
		b := ref.Branch
		if b == "" {
			b = DefaultBranch
		}
		return &Resolution{RefName: "refs/heads/" + b, Short: b, Shallow: true}, nil
	}
	return nil, nil
}

// RefNotFoundError means the branch, tag, ref or semver range matched
// nothing on the remote.
type RefNotFoundError struct {
	// Ref describes what was looked for, e.g. "branch 'main'".
	Ref string
}

// Error implements error.
func (e *RefNotFoundError) Error() string { return e.Ref + " not found on the remote" }

// IsRefNotFound reports whether err is a *RefNotFoundError.
func IsRefNotFound(err error) bool {
	var e *RefNotFoundError
	return errors.As(err, &e)
}

// Resolve picks the commit ref selects among refs (as returned by
// ListRefs). A Commit reference resolves without the listing (refs may be
// nil): its branch, if any, is fetched in full and searched.
func Resolve(ref Reference, refs []RemoteRef) (*Resolution, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	index := make(map[string]string, len(refs))
	for _, r := range refs {
		index[r.Name] = r.Commit
	}
	switch ref.Kind() {
	case "commit":
		res := &Resolution{Commit: strings.ToLower(ref.Commit)}
		res.Revision = algo(res.Commit) + ":" + res.Commit
		if ref.Branch != "" {
			res.RefName = "refs/heads/" + ref.Branch
			res.Short = ref.Branch
			res.Revision = ref.Branch + "@" + res.Revision
		}
		return res, nil
	case "name":
		c, ok := index[ref.Name]
		if !ok {
			return nil, &RefNotFoundError{Ref: fmt.Sprintf("ref '%s'", ref.Name)}
		}
		return resolved(ref.Name, ref.Name, c), nil
	case "semver":
		return resolveSemVer(ref.SemVer, refs)
	case "tag":
		name := "refs/tags/" + ref.Tag
		c, ok := index[name]
		if !ok {
			return nil, &RefNotFoundError{Ref: fmt.Sprintf("tag '%s'", ref.Tag)}
		}
		return resolved(name, ref.Tag, c), nil
	default:
		branch := ref.Branch
		if branch == "" {
			branch = DefaultBranch
		}
		name := "refs/heads/" + branch
		c, ok := index[name]
		if !ok {
			return nil, &RefNotFoundError{Ref: fmt.Sprintf("branch '%s'", branch)}
		}
		return resolved(name, branch, c), nil
	}
}

func resolved(refName, short, commit string) *Resolution {
	return &Resolution{RefName: refName, Commit: commit, Revision: short + "@" + algo(commit) + ":" + commit, Shallow: true, Short: short}
}

// resolveSemVer picks the highest tag whose name (optionally prefixed with
// "v") is a version inside the constraint.
func resolveSemVer(constraint string, refs []RemoteRef) (*Resolution, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("invalid semver constraint %q: %v", constraint, err)
	}
	type candidate struct {
		v      *semver.Version
		tag    string
		commit string
	}
	var matches []candidate
	for _, r := range refs {
		tag, ok := strings.CutPrefix(r.Name, "refs/tags/")
		if !ok {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		matches = append(matches, candidate{v: v, tag: tag, commit: r.Commit})
	}
	if len(matches) == 0 {
		return nil, &RefNotFoundError{Ref: fmt.Sprintf("tag matching semver '%s'", constraint)}
	}
	// Highest version first; equal versions ("1.0.0" and "v1.0.0") by name
	// for a stable pick.
	sort.Slice(matches, func(i, j int) bool {
		if cmp := matches[i].v.Compare(matches[j].v); cmp != 0 {
			return cmp > 0
		}
		return matches[i].tag > matches[j].tag
	})
	m := matches[0]
	return resolved("refs/tags/"+m.tag, m.tag, m.commit), nil
}

// algo names the hash of a commit hex by its length.
func algo(commit string) string {
	if len(commit) == 64 {
		return "sha256"
	}
	return "sha1"
}

// CommitFromRevision returns the commit hex of a Flux revision
// ("main@sha1:<hex>", "sha1:<hex>", or a legacy "main/<hex>"), or "" when
// there is none.
func CommitFromRevision(rev string) string {
	if i := strings.LastIndex(rev, "@"); i >= 0 {
		rev = rev[i+1:]
	}
	if a, h, ok := strings.Cut(rev, ":"); ok && (a == "sha1" || a == "sha256") {
		return h
	}
	if i := strings.LastIndex(rev, "/"); i >= 0 {
		return rev[i+1:]
	}
	return ""
}
