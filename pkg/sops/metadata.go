package sops

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metadataKey is the top-level key holding SOPS metadata; dotenv, which
// has no nesting, stores it flattened under keys with metadataPrefix.
const (
	metadataKey    = "sops"
	metadataPrefix = metadataKey + "_"
	// Dotenv's flattened keys join path components with these markers,
	// e.g. sops_age__list_0__map_recipient.
	flatMapMarker  = "__map_"
	flatListMarker = "__list_"
	// defaultUnencryptedSuffix applies when a file names no rule for what
	// is encrypted, as SOPS does.
	defaultUnencryptedSuffix = "_unencrypted"
)

// errNoMetadata is returned for documents without SOPS metadata.
var errNoMetadata = errors.New("sops metadata not found")

// metadata is what decryption needs from a document's "sops" entry.
type metadata struct {
	keyGroups       [][]masterKey
	shamirThreshold int
	lastModified    time.Time
	mac             string
	macOnlyEnc      bool

	unencryptedSuffix       string
	encryptedSuffix         string
	unencryptedRegex        string
	encryptedRegex          string
	unencryptedCommentRegex string
	encryptedCommentRegex   string
}

// masterKey is one recipient of the data key (or of a Shamir share of
// it). Only age and pgp keys can be decrypted here; the others are kept
// so an error can say which keys the file expects.
type masterKey struct {
	kind string // "age", "pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"
	id   string // recipient, fingerprint, ARN, resource id or URL
	enc  string // the encrypted data key or share
}

// keyKinds lists the key types in the order SOPS builds a key group,
// which is also the order it tries them in; the function returns the
// identifier SOPS shows for a key of that type.
var keyKinds = []struct {
	field string
	id    func(map[string]any) (string, error)
	// dated kinds carry a created_at SOPS refuses to load if malformed.
	dated bool
}{
	{"kms", func(m map[string]any) (string, error) {
		s, err := field[string](m, "arn")
		if role, _ := field[string](m, "role"); role != "" {
			s += "+" + role
		}
		return s, err
	}, true},
	{"gcp_kms", func(m map[string]any) (string, error) { return field[string](m, "resource_id") }, true},
	{"hckms", func(m map[string]any) (string, error) { return field[string](m, "key_id") }, true},
	{"azure_kv", func(m map[string]any) (string, error) {
		u, err1 := field[string](m, "vault_url")
		n, err2 := field[string](m, "name")
		v, err3 := field[string](m, "version")
		return u + "/keys/" + n + "/" + v, errors.Join(err1, err2, err3)
	}, true},
	{"hc_vault", func(m map[string]any) (string, error) {
		a, err1 := field[string](m, "vault_address")
		p, err2 := field[string](m, "engine_path")
		k, err3 := field[string](m, "key_name")
		return a + "/v1/" + p + "/keys/" + k, errors.Join(err1, err2, err3)
	}, true},
	{"pgp", func(m map[string]any) (string, error) { return field[string](m, "fp") }, true},
	{"age", func(m map[string]any) (string, error) { return field[string](m, "recipient") }, false},
}

// extractMetadata removes the metadata from the branches and parses it.
// Like SOPS, a nested "sops" entry is taken from the first document and
// dropped from the others; flattened entries come from the first only.
func extractMetadata(branches []treeBranch, flat bool) ([]treeBranch, *metadata, error) {
	var raw map[string]any
	if flat {
		if len(branches) > 0 {
			var entries treeBranch
			kept := treeBranch{}
			for _, it := range branches[0] {
				if k, ok := it.key.(string); ok && strings.HasPrefix(k, metadataPrefix) {
					entries = append(entries, treeItem{key: k[len(metadataPrefix):], value: it.value})
					continue
				}
				kept = append(kept, it)
			}
			branches[0] = kept
			if entries != nil {
				var err error
				if raw, err = unflatten(entries); err != nil {
					return nil, nil, err
				}
			}
		}
	} else {
		for bi, b := range branches {
			kept := treeBranch{}
			for _, it := range b {
				if k, ok := it.key.(string); !ok || k != metadataKey {
					kept = append(kept, it)
					continue
				}
				if bi != 0 {
					continue
				}
				if raw != nil {
					return nil, nil, fmt.Errorf("found duplicate %s entry", metadataKey)
				}
				m, ok := it.value.(treeBranch)
				if !ok {
					return nil, nil, fmt.Errorf("found %s entry that is not a mapping", metadataKey)
				}
				raw = plainMap(m)
			}
			branches[bi] = kept
		}
	}
	if raw == nil {
		return nil, nil, errNoMetadata
	}
	md, err := parseMetadata(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid sops metadata: %w", err)
	}
	return branches, md, nil
}

// plainMap turns a metadata subtree into Go maps and slices, leaving
// comments out.
func plainMap(b treeBranch) map[string]any {
	m := make(map[string]any, len(b))
	for _, it := range b {
		if k, ok := it.key.(string); ok {
			m[k] = plainValue(it.value)
		}
	}
	return m
}

func plainValue(v any) any {
	switch v := v.(type) {
	case treeBranch:
		return plainMap(v)
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if _, ok := e.(comment); !ok {
				out = append(out, plainValue(e))
			}
		}
		return out
	}
	return v
}

// parseMetadata reads the metadata fields SOPS defines, converting
// scalars between types as leniently as SOPS (dotenv stores every value
// as a string). Unknown fields are ignored, as SOPS ignores them.
func parseMetadata(raw map[string]any) (*metadata, error) {
	md := &metadata{}
	var errs []error
	str := func(name string) string {
		s, err := field[string](raw, name)
		errs = append(errs, err)
		return s
	}
	lm := str("lastmodified")
	md.mac = str("mac")
	md.unencryptedSuffix = str("unencrypted_suffix")
	md.encryptedSuffix = str("encrypted_suffix")
	md.unencryptedRegex = str("unencrypted_regex")
	md.encryptedRegex = str("encrypted_regex")
	md.unencryptedCommentRegex = str("unencrypted_comment_regex")
	md.encryptedCommentRegex = str("encrypted_comment_regex")
	var err error
	md.macOnlyEnc, err = field[bool](raw, "mac_only_encrypted")
	errs = append(errs, err)
	md.shamirThreshold, err = field[int](raw, "shamir_threshold")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if md.lastModified, err = time.Parse(time.RFC3339, lm); err != nil {
		return nil, errors.New("lastmodified is not an RFC 3339 time")
	}

	rules := 0
	for _, r := range []string{md.unencryptedSuffix, md.encryptedSuffix, md.unencryptedRegex, md.encryptedRegex, md.unencryptedCommentRegex, md.encryptedCommentRegex} {
		if r != "" {
			rules++
		}
	}
	switch rules {
	case 0:
		md.unencryptedSuffix = defaultUnencryptedSuffix
	case 1:
	default:
		return nil, errors.New("more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex and unencrypted_comment_regex")
	}

	// Keys listed at the top level form the single group; only without
	// them does SOPS read key_groups.
	top, err := keyGroup(raw)
	if err != nil {
		return nil, err
	}
	if len(top) > 0 {
		md.keyGroups = [][]masterKey{top}
		return md, nil
	}
	groups, err := list(raw, "key_groups")
	if err != nil {
		return nil, err
	}
	for i, g := range groups {
		gm, ok := g.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("key_groups[%d] is not a mapping", i)
		}
		keys, err := keyGroup(gm)
		if err != nil {
			return nil, fmt.Errorf("key_groups[%d]: %w", i, err)
		}
		md.keyGroups = append(md.keyGroups, keys)
	}
	if len(md.keyGroups) == 0 {
		return nil, errors.New("no keys found in file")
	}
	return md, nil
}

// keyGroup reads the key lists of one group (or of the top level).
func keyGroup(m map[string]any) ([]masterKey, error) {
	var keys []masterKey
	for _, kind := range keyKinds {
		entries, err := list(m, kind.field)
		if err != nil {
			return nil, err
		}
		for i, e := range entries {
			em, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s[%d] is not a mapping", kind.field, i)
			}
			id, err1 := kind.id(em)
			enc, err2 := field[string](em, "enc")
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", kind.field, i, err)
			}
			if kind.dated {
				created, _ := field[string](em, "created_at")
				if _, err := time.Parse(time.RFC3339, created); err != nil {
					return nil, fmt.Errorf("%s[%d]: created_at is not an RFC 3339 time", kind.field, i)
				}
			}
			keys = append(keys, masterKey{kind: kind.field, id: id, enc: enc})
		}
	}
	return keys, nil
}

// list reads an optional list field; a single mapping counts as a list
// of one, as SOPS's lenient decoding has it.
func list(m map[string]any, name string) ([]any, error) {
	switch v := m[name].(type) {
	case nil:
		return nil, nil
	case []any:
		return v, nil
	case map[string]any:
		if len(v) == 0 {
			return nil, nil
		}
		return []any{v}, nil
	}
	return nil, fmt.Errorf("%s is not a list", name)
}

// field reads an optional scalar field, converting between strings,
// numbers and booleans. Errors name the field, never its value.
func field[T string | int | bool](m map[string]any, name string) (T, error) {
	var zero T
	v, ok := m[name]
	if !ok || v == nil {
		return zero, nil
	}
	var out any
	switch any(zero).(type) {
	case string:
		switch v := v.(type) {
		case string:
			out = v
		case int:
			out = strconv.Itoa(v)
		case float64:
			out = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out = map[bool]string{true: "1", false: "0"}[v]
		case time.Time:
			out = v.Format(time.RFC3339)
		}
	case int:
		switch v := v.(type) {
		case int:
			out = v
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
				out = int(v)
			}
		case bool:
			out = map[bool]int{true: 1, false: 0}[v]
		case string:
			if v == "" {
				out = 0
			} else if i, err := strconv.ParseInt(v, 0, 64); err == nil {
				out = int(i)
			}
		}
	case bool:
		switch v := v.(type) {
		case bool:
			out = v
		case int:
			out = v != 0
		case float64:
			out = v != 0
		case string:
			if v == "" {
				out = false
			} else if b, err := strconv.ParseBool(v); err == nil {
				out = b
			}
		}
	}
	if out == nil {
		return zero, fmt.Errorf("%s has the wrong type", name)
	}
	return out.(T), nil
}

// flatNode is one position while rebuilding dotenv's flattened metadata.
type flatNode struct {
	value    any
	hasValue bool
	fields   map[string]*flatNode
	items    map[int]*flatNode
}

// unflatten rebuilds nested metadata from flattened entries: each key is
// a field name followed by __map_<name> and __list_<index> steps.
func unflatten(entries treeBranch) (map[string]any, error) {
	root := &flatNode{}
	for _, it := range entries {
		k, ok := it.key.(string)
		if !ok {
			continue
		}
		n := root
		for _, step := range flatSteps(k) {
			n = n.child(step)
		}
		if n.hasValue {
			return nil, fmt.Errorf("metadata key %q appears twice", metadataPrefix+k)
		}
		n.value, n.hasValue = it.value, true
	}
	v, err := root.build()
	if err != nil {
		return nil, fmt.Errorf("flattened metadata: %w", err)
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// flatStep is a field name, or a list index when isIndex.
type flatStep struct {
	name    string
	index   int
	isIndex bool
}

// flatSteps splits a flattened key at its markers. The first step is
// always a field name; a malformed index reads as 0, as in SOPS.
func flatSteps(k string) []flatStep {
	steps := []flatStep{}
	cur := flatStep{}
	start := 0
	finish := func(end int) {
		if cur.isIndex {
			cur.index, _ = strconv.Atoi(k[start:end])
		} else {
			cur.name = k[start:end]
		}
		steps = append(steps, cur)
	}
	for i := 0; i < len(k); {
		switch {
		case strings.HasPrefix(k[i:], flatMapMarker):
			finish(i)
			cur = flatStep{}
			i += len(flatMapMarker)
			start = i
		case strings.HasPrefix(k[i:], flatListMarker):
			finish(i)
			cur = flatStep{isIndex: true}
			i += len(flatListMarker)
			start = i
		default:
			i++
		}
	}
	finish(len(k))
	return steps
}

func (n *flatNode) child(s flatStep) *flatNode {
	if s.isIndex {
		if n.items == nil {
			n.items = map[int]*flatNode{}
		}
		if n.items[s.index] == nil {
			n.items[s.index] = &flatNode{}
		}
		return n.items[s.index]
	}
	if n.fields == nil {
		n.fields = map[string]*flatNode{}
	}
	if n.fields[s.name] == nil {
		n.fields[s.name] = &flatNode{}
	}
	return n.fields[s.name]
}

func (n *flatNode) build() (any, error) {
	kinds := 0
	for _, b := range []bool{n.hasValue, len(n.fields) > 0, len(n.items) > 0} {
		if b {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return nil, errors.New("a key is both a value and a container")
	case n.hasValue:
		return n.value, nil
	case len(n.items) > 0:
		idx := make([]int, 0, len(n.items))
		for i := range n.items {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		if idx[0] != 0 || idx[len(idx)-1] != len(idx)-1 {
			return nil, errors.New("a list has gaps")
		}
		out := make([]any, len(idx))
		for _, i := range idx {
			v, err := n.items[i].build()
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(n.fields))
	for name, c := range n.fields {
		v, err := c.build()
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// recipients lists the key types and ids a document was encrypted for, so
// a user can tell which key is missing.
func (md *metadata) recipients() string {
	var ids []string
	for _, g := range md.keyGroups {
		for _, k := range g {
			ids = append(ids, k.kind+" "+shorten(k.id))
		}
	}
	if len(ids) == 0 {
		return "no recipients"
	}
	return "encrypted for " + strings.Join(ids, ", ")
}
