package manager

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// TestOptionsValidateRetryDelays: the retry flags every controller now
// honours must describe a backoff.
func TestOptionsValidateRetryDelays(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{args: nil},
		{args: []string{"--min-retry-delay=2s", "--max-retry-delay=2s"}},
		{args: []string{"--min-retry-delay=0s"}, err: "--min-retry-delay (0s) must be positive"},
		{args: []string{"--min-retry-delay=1m", "--max-retry-delay=30s"}, err: "at most --max-retry-delay (30s)"},
	} {
		t.Run(strings.Join(append([]string{"defaults"}, tc.args...), " "), func(t *testing.T) {
			g := NewWithT(t)
			o, err := parseGates(tc.args...)
			g.Expect(err).NotTo(HaveOccurred())
			err = o.Validate()
			if tc.err == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
		})
	}
}
