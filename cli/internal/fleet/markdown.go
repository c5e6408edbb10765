package fleet

import (
	"fmt"
	"io"
	"strings"
)

// MaxMarkdownBytes keeps a markdown report under what a pull-request
// comment holds (GitHub: 65536 characters), with room for the note.
const MaxMarkdownBytes = 60000

// WriteMarkdown writes the report as a pull-request comment: a summary
// line, per cluster a table of Kustomizations, and each failed or skipped
// Kustomization's findings in a collapsed section. Past limit bytes the
// remaining findings are left out and a note says how many.
func (r *Report) WriteMarkdown(w io.Writer, limit int) error {
	var b strings.Builder
	verdict := "✔ passed"
	if r.Findings() > 0 {
		verdict = "✗ failed"
	}
	fmt.Fprintf(&b, "## gotk test: %s\n\n%d findings, %d skipped in %d cluster directories (%.1fs)\n", verdict, r.Findings(), r.Skips(), len(r.Clusters), r.Seconds)
	omitted := 0
	for _, c := range r.Clusters {
		fmt.Fprintf(&b, "\n### Cluster `%s`\n\n| | Kustomization | Source | Path | Objects |\n|---|---|---|---|---|\n", c.Path)
		for _, k := range c.Kustomizations {
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %d |\n", statusMark(k.Status), k.Name, k.Source, k.Path, k.Objects)
		}
		for _, k := range c.Kustomizations {
			var rows []string
			nf := 0
			for _, f := range c.Findings {
				if f.Kustomization == k.Name {
					rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |\n", f.Class, cell(f.Object), code(f.File), cell(f.Message)))
					nf++
				}
			}
			for _, s := range c.Skipped {
				if s.Kustomization == k.Name {
					rows = append(rows, fmt.Sprintf("| skipped | %s | | %s |\n", cell(s.Object), cell(s.Reason)))
				}
			}
			if len(rows) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n<details><summary>%s %s: %d findings, %d skipped</summary>\n\n| Class | Object | File | Message |\n|---|---|---|---|\n",
				statusMark(k.Status), k.Name, nf, len(rows)-nf)
			for _, row := range rows {
				if b.Len()+len(row) > limit {
					omitted++
					continue
				}
				b.WriteString(row)
			}
			b.WriteString("\n</details>\n")
		}
		if r.Base != "" {
			fmt.Fprintf(&b, "\n<details><summary>Changes against <code>%s</code>: %d objects</summary>\n\n", cell(r.Base), len(c.Diff))
			for _, d := range c.Diff {
				block := fmt.Sprintf("**%s** `%s` (Kustomization %s)\n\n```diff\n%s```\n\n", d.Change, d.Object, d.Kustomization, strings.ReplaceAll(d.Diff, "```", "` ` `"))
				if b.Len()+len(block) > limit {
					omitted++
					continue
				}
				b.WriteString(block)
			}
			b.WriteString("</details>\n")
		}
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "\n> **Cut:** %d more findings, skips or changes did not fit in this comment; run `gotk test --output json` for all of them.\n", omitted)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusMark(status string) string {
	return map[string]string{"passed": "✔", "failed": "✗", "skipped": "⊘"}[status]
}

// cell makes text safe inside a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", "", "\n", "<br>", "<", "&lt;", ">", "&gt;").Replace(s)
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(s, "`", "") + "`"
}
