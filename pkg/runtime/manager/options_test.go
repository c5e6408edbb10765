package manager

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/spf13/pflag"
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

// TestSetClientDefaults: a controller's own client defaults apply when
// the flags are not given, show in --help, and the flags still win.
func TestSetClientDefaults(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		qps   float32
		burst int
	}{
		{args: nil, qps: 1000, burst: 2000},
		{args: []string{"--kube-api-qps=50", "--kube-api-burst=300"}, qps: 50, burst: 300},
		{args: []string{"--kube-api-qps=-1"}, qps: -1, burst: 2000},
	} {
		t.Run(strings.Join(append([]string{"defaults"}, tc.args...), " "), func(t *testing.T) {
			g := NewWithT(t)
			var o Options
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.BindFlags(fs, 1, true)
			o.SetClientDefaults(fs, 1000, 2000)
			g.Expect(fs.Parse(tc.args)).To(Succeed())
			g.Expect(o.Client.QPS).To(Equal(tc.qps))
			g.Expect(o.Client.Burst).To(Equal(tc.burst))
			g.Expect(fs.Lookup("kube-api-qps").DefValue).To(Equal("1000"))
			g.Expect(fs.Lookup("kube-api-burst").DefValue).To(Equal("2000"))
		})
	}
}
