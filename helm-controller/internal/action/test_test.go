package action

import (
	"testing"

	. "github.com/onsi/gomega"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

func TestFilters(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Filters(nil)).To(BeNil())
	g.Expect(Filters([]helmv2.Filter{{Name: "a"}, {Name: "b", Exclude: true}, {Name: "c"}})).To(Equal(map[string][]string{
		"name": {"a", "c"}, "!name": {"b"},
	}))
}
