package fleet

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// TestExampleWorkflow checks that the example CI workflow is valid YAML
// and that the `gotk test` it runs is a real invocation: every flag
// exists and parses, and it writes markdown against a base revision.
func TestExampleWorkflow(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "ci", "gotk-test.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var wf struct {
		// YAML 1.1 (which this parser follows, unlike GitHub's) reads the
		// key on as true.
		On   map[string]any `json:"true"`
		Jobs map[string]struct {
			Steps []struct {
				Run  string            `json:"run"`
				Uses string            `json:"uses"`
				With map[string]string `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	g.Expect(yaml.Unmarshal(data, &wf)).To(Succeed())
	g.Expect(wf.On).To(HaveKey("pull_request"))

	var lines []string
	posted := false
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			for _, line := range strings.Split(s.Run, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "gotk test") {
					lines = append(lines, strings.TrimSpace(line))
				}
			}
			if s.With["path"] == "gotk-test.md" {
				posted = true
			}
		}
	}
	g.Expect(lines).To(HaveLen(1))
	g.Expect(posted).To(BeTrue(), "the report is posted as a comment")

	// Expressions stand for a value; the redirection is the shell's.
	line := regexp.MustCompile(`\$\{\{[^}]*\}\}`).ReplaceAllString(lines[0], "main")
	line, _, _ = strings.Cut(line, ">")
	args := strings.Fields(line)[2:]
	cmd := NewCommand(io.Discard)
	g.Expect(cmd.ParseFlags(args)).To(Succeed(), "gotk test %v", args)
	g.Expect(cmd.Flags().Args()).To(Equal([]string{"."}))
	g.Expect(cmd.Flags().Lookup("output").Value.String()).To(Equal("markdown"))
	g.Expect(cmd.Flags().Lookup("base").Value.String()).To(Equal("origin/main"))
}
