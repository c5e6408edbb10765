// Package setters rewrites the image setter markers of YAML files —
// `# {"$imagepolicy": "<namespace>:<policy>[:tag|:name|:digest]"}` — to the
// images chosen by ImagePolicies. Files are parsed with kyaml to find the
// marked scalars, and only the bytes of those scalars are replaced, so
// comments, indentation, quoting and every other line stay as they were.
package setters

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MarkerKey is the JSON key of a setter marker.
const MarkerKey = "$imagepolicy"

// Field is the part of the chosen image a marker sets.
type Field string

// Fields a marker can name after the policy.
const (
	// FieldImage sets the whole reference, name:tag (and @digest when known).
	FieldImage Field = ""
	// FieldTag sets only the tag.
	FieldTag Field = "tag"
	// FieldName sets only the image name.
	FieldName Field = "name"
	// FieldDigest sets only the digest.
	FieldDigest Field = "digest"
)

// Marker is a parsed setter marker.
type Marker struct {
	// Namespace and Name identify the ImagePolicy.
	Namespace, Name string
	// Field is what the marked value holds.
	Field Field
}

// String formats the marker's value as written in the comment.
func (m Marker) String() string {
	s := m.Namespace + ":" + m.Name
	if m.Field != FieldImage {
		s += ":" + string(m.Field)
	}
	return s
}

// ParseMarker reads a YAML comment. It returns ok=false for comments that
// are not markers (they do not mention MarkerKey), and an error for a
// comment that mentions it but is malformed, so a typo is reported instead
// of silently leaving the image unchanged.
func ParseMarker(comment string) (m Marker, ok bool, err error) {
	if !strings.Contains(comment, MarkerKey) {
		return Marker{}, false, nil
	}
	text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(comment), "#"))
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return Marker{}, true, fmt.Errorf("malformed setter marker %q: not a JSON object", text)
	}
	raw, found := obj[MarkerKey]
	if !found {
		return Marker{}, true, fmt.Errorf("malformed setter marker %q: no %q key", text, MarkerKey)
	}
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return Marker{}, true, fmt.Errorf("malformed setter marker %q: %q must be a string", text, MarkerKey)
	}
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Marker{}, true, fmt.Errorf("malformed setter marker %q: want \"<namespace>:<policy>[:tag|:name|:digest]\"", text)
	}
	m = Marker{Namespace: parts[0], Name: parts[1]}
	if len(parts) == 3 {
		switch f := Field(parts[2]); f {
		case FieldTag, FieldName, FieldDigest:
			m.Field = f
		default:
			return Marker{}, true, fmt.Errorf("malformed setter marker %q: unknown field %q (want tag, name or digest)", text, parts[2])
		}
	}
	return m, true, nil
}
