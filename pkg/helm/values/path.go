package values

import (
	"fmt"
	"strconv"
	"strings"
)

// maxIndex bounds list indices in a targetPath, so a hostile path cannot
// make the controller allocate a huge list.
const maxIndex = 65535

// segment is one step of a targetPath: a map key, or a list index when
// index >= 0.
type segment struct {
	key   string
	index int
}

// ParsePath splits a targetPath in Helm's --set notation: keys separated
// by dots ("a.b"), "\." for a literal dot inside a key, and "[n]" list
// indices ("a.list[0].b").
func ParsePath(path string) ([]segment, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path")
	}
	var segs []segment
	var cur strings.Builder
	haveKey := false
	flush := func() error {
		if !haveKey {
			return fmt.Errorf("empty key in path %q", path)
		}
		segs = append(segs, segment{key: cur.String(), index: -1})
		cur.Reset()
		haveKey = false
		return nil
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch c {
		case '\\':
			if i+1 >= len(path) {
				return nil, fmt.Errorf("path %q ends with an escape", path)
			}
			i++
			cur.WriteByte(path[i])
			haveKey = true
		case '.':
			if len(segs) > 0 && segs[len(segs)-1].index >= 0 && !haveKey {
				// "a[0].b": the dot after an index starts the next key.
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
		case '[':
			if haveKey {
				if err := flush(); err != nil {
					return nil, err
				}
			} else if len(segs) == 0 || segs[len(segs)-1].index < 0 {
				return nil, fmt.Errorf("index without a key in path %q", path)
			}
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '[' in path %q", path)
			}
			n, err := strconv.Atoi(path[i+1 : i+end])
			if err != nil || n < 0 || n > maxIndex {
				return nil, fmt.Errorf("invalid list index %q in path %q", path[i+1:i+end], path)
			}
			segs = append(segs, segment{index: n})
			i += end
			if i+1 < len(path) && path[i+1] != '.' && path[i+1] != '[' {
				return nil, fmt.Errorf("expected '.' or '[' after ']' in path %q", path)
			}
		default:
			cur.WriteByte(c)
			haveKey = true
		}
	}
	if haveKey {
		if err := flush(); err != nil {
			return nil, err
		}
	} else if len(segs) == 0 || segs[len(segs)-1].index < 0 {
		return nil, fmt.Errorf("path %q ends with an empty key", path)
	}
	return segs, nil
}

// SetPath sets raw, typed the way `helm --set` types values, at path in
// values, creating the maps and lists on the way and replacing whatever
// was there.
func SetPath(values map[string]any, path, raw string) error {
	segs, err := ParsePath(path)
	if err != nil {
		return err
	}
	var cur any = values
	v := typed(raw)
	for i, s := range segs {
		last := i == len(segs)-1
		var next any
		if i+1 < len(segs) && segs[i+1].index >= 0 {
			next = []any{}
		} else {
			next = map[string]any{}
		}
		switch {
		case s.index < 0:
			m := cur.(map[string]any)
			if last {
				m[s.key] = v
				return nil
			}
			child, ok := m[s.key]
			if !compatible(child, next) || !ok {
				child = next
			}
			m[s.key] = child
			cur = child
		default:
			// The parent stored this list; grow it and write it back.
			list := cur.([]any)
			for len(list) <= s.index {
				list = append(list, nil)
			}
			if err := storeList(values, segs[:i], list); err != nil {
				return err
			}
			if last {
				list[s.index] = v
				return nil
			}
			child := list[s.index]
			if !compatible(child, next) {
				child = next
			}
			list[s.index] = child
			cur = child
		}
	}
	return nil
}

// storeList writes list back at the location segs point to, since growing
// a slice may have moved it.
func storeList(root map[string]any, segs []segment, list []any) error {
	var cur any = root
	for i, s := range segs {
		last := i == len(segs)-1
		if s.index < 0 {
			m := cur.(map[string]any)
			if last {
				m[s.key] = list
				return nil
			}
			cur = m[s.key]
			continue
		}
		l := cur.([]any)
		if last {
			l[s.index] = list
			return nil
		}
		cur = l[s.index]
	}
	return fmt.Errorf("internal: empty list location")
}

func compatible(have, want any) bool {
	switch want.(type) {
	case []any:
		_, ok := have.([]any)
		return ok
	default:
		_, ok := have.(map[string]any)
		return ok
	}
}

// typed converts raw as `helm --set` does: true/false, null, integers
// without a leading zero become bool, nil and int64; the rest stays a
// string.
func typed(raw string) any {
	switch {
	case strings.EqualFold(raw, "true"):
		return true
	case strings.EqualFold(raw, "false"):
		return false
	case strings.EqualFold(raw, "null"):
		return nil
	case raw == "0":
		return int64(0)
	}
	if raw != "" && raw[0] != '0' {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n
		}
	}
	return raw
}
