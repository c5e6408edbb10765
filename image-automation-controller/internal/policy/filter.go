package policy

import (
	"fmt"
	"regexp"
	"strconv"
)

// Filter is a compiled spec.filterTags: the tags matching Pattern are kept
// and, with Extract, each is ordered by the expansion of Extract against
// the match instead of by the whole tag.
type Filter struct {
	re      *regexp.Regexp
	extract string
}

// Candidate is a tag that passed the filter with the value to order it by.
type Candidate struct {
	// Tag is the image tag.
	Tag string
	// Value is what the policy compares: the tag, or its extraction.
	Value string
}

// NewFilter compiles a pattern and extract template. An empty pattern keeps
// every tag. Extract may refer only to groups the pattern defines.
func NewFilter(pattern, extract string) (*Filter, error) {
	if pattern == "" && extract == "" {
		return &Filter{}, nil
	}
	if pattern == "" {
		return nil, fmt.Errorf("filterTags.extract %q needs a filterTags.pattern with the groups it refers to", extract)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid filterTags.pattern %q: %w", pattern, err)
	}
	if err := checkTemplate(re, extract); err != nil {
		return nil, fmt.Errorf("invalid filterTags.extract %q: %w", extract, err)
	}
	return &Filter{re: re, extract: extract}, nil
}

// Apply returns the candidates among tags, in the given order.
func (f *Filter) Apply(tags []string) []Candidate {
	out := make([]Candidate, 0, len(tags))
	for _, t := range tags {
		if c, ok := f.Match(t); ok {
			out = append(out, c)
		}
	}
	return out
}

// Match filters one tag.
func (f *Filter) Match(tag string) (Candidate, bool) {
	if f.re == nil {
		return Candidate{Tag: tag, Value: tag}, true
	}
	m := f.re.FindStringSubmatchIndex(tag)
	if m == nil {
		return Candidate{}, false
	}
	if f.extract == "" {
		return Candidate{Tag: tag, Value: tag}, true
	}
	v := f.re.ExpandString(nil, f.extract, tag, m)
	return Candidate{Tag: tag, Value: string(v)}, true
}

// checkTemplate verifies that every $name, ${name} and $n in tmpl refers to
// a group of re, with the syntax regexp.Expand accepts, so a typo is
// reported when the policy is created rather than silently expanding to
// the empty string.
func checkTemplate(re *regexp.Regexp, tmpl string) error {
	names := map[string]bool{}
	for i, n := range re.SubexpNames() {
		names[strconv.Itoa(i)] = true
		if n != "" {
			names[n] = true
		}
	}
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '$' {
			continue
		}
		i++
		if i >= len(tmpl) {
			return fmt.Errorf("trailing $")
		}
		if tmpl[i] == '$' {
			continue
		}
		var name string
		if tmpl[i] == '{' {
			end := i + 1
			for end < len(tmpl) && tmpl[end] != '}' {
				end++
			}
			if end >= len(tmpl) {
				return fmt.Errorf("unclosed ${")
			}
			name = tmpl[i+1 : end]
			i = end
		} else {
			end := i
			for end < len(tmpl) && isNameByte(tmpl[end]) {
				end++
			}
			name = tmpl[i:end]
			i = end - 1
		}
		if name == "" || !isName(name) {
			return fmt.Errorf("malformed group reference near offset %d", i)
		}
		if !names[name] {
			return fmt.Errorf("the pattern has no group %q", name)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
