package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type logsFlags struct {
	stateDir   string
	controller string
	kind, name string
	level      string
	follow     bool
	// namespace limits object lines to one namespace unless allNamespaces.
	namespace     string
	allNamespaces bool
	// since drops lines older than now-since; zero keeps all.
	since time.Duration
	// tail prints only the last tail lines of each controller's log at
	// first; negative prints all.
	tail int64
}

func newLogsCommand(g *Globals) *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the logs of the controllers `gotk dev` runs, filtered by object and level",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.since < 0 {
				return fmt.Errorf("--since must be a positive duration, got %s", f.since)
			}
			f.namespace = g.Namespace
			return runLogs(cmd.Context(), g.Out, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.stateDir, "state-dir", ".run", "state directory of `gotk dev`")
	fs.StringVar(&f.controller, "controller", "", "only this controller, e.g. source-controller")
	fs.StringVar(&f.kind, "kind", "", "only lines about this kind, e.g. Kustomization")
	fs.StringVar(&f.name, "name", "", "only lines about objects of this name")
	fs.StringVar(&f.level, "level", "", "only this level: debug, info or error")
	fs.BoolVarP(&f.follow, "follow", "f", false, "keep printing new lines until interrupted")
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "lines about objects in every namespace, not only --namespace")
	fs.DurationVar(&f.since, "since", 0, "only lines newer than this duration, e.g. 5m or 2h")
	fs.Int64Var(&f.tail, "tail", -1, "only the last N lines of each controller's log (then new ones with --follow); -1 prints all")
	return cmd
}

func runLogs(ctx context.Context, out io.Writer, f *logsFlags) error {
	files, err := filepath.Glob(filepath.Join(f.stateDir, "logs", "*-controller.log"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no controller logs in %s: is `gotk dev` (make run) running there?", filepath.Join(f.stateDir, "logs"))
	}
	sort.Strings(files)
	offsets := map[string]int64{}
	first := true
	for {
		for _, file := range files {
			controller := strings.TrimSuffix(filepath.Base(file), ".log")
			if f.controller != "" && controller != f.controller {
				continue
			}
			n, err := printLogLines(out, file, offsets[file], controller, f, first)
			if err != nil {
				return err
			}
			offsets[file] = n
		}
		if !f.follow {
			return nil
		}
		first = false
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// printLogLines prints the JSON log lines of file from offset on that pass
// the filters, and returns the new offset. On the first pass --tail keeps
// only the last lines of the file, counted before filtering as Flux (the
// pod log API) does.
func printLogLines(out io.Writer, file string, offset int64, controller string, f *logsFlags, first bool) (int64, error) {
	fh, err := os.Open(file)
	if err != nil {
		return offset, err
	}
	defer fh.Close()
	if _, err := fh.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	r := bufio.NewReader(fh)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // a partial last line is read on the next pass
		}
		offset += int64(len(line))
		lines = append(lines, line)
	}
	if first && f.tail >= 0 && int64(len(lines)) > f.tail {
		lines = lines[int64(len(lines))-f.tail:]
	}
	var cutoff time.Time
	if f.since > 0 {
		cutoff = time.Now().Add(-f.since)
	}
	for _, line := range lines {
		entry, ok := parseLogLine(line)
		if !ok || !entry.matches(f) {
			continue
		}
		if !cutoff.IsZero() && (entry.at.IsZero() || entry.at.Before(cutoff)) {
			continue
		}
		fmt.Fprintln(out, entry.format(controller))
	}
	return offset, nil
}

// logEntry is one line of a controller's JSON log.
type logEntry struct {
	Time, Level, Msg, Kind, Name, Namespace, Error string
	// at is Time parsed; zero when the line has no readable time.
	at time.Time
}

func parseLogLine(line string) (logEntry, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return logEntry{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	e := logEntry{Time: str("ts"), Level: str("level"), Msg: str("msg"), Name: str("name"), Namespace: str("namespace"), Error: str("error")}
	switch ts := m["ts"].(type) {
	case string:
		e.at, _ = time.Parse(time.RFC3339Nano, ts)
	case float64: // zap's epoch encoder
		e.at = time.Unix(0, int64(ts*float64(time.Second)))
		e.Time = e.at.UTC().Format(time.RFC3339Nano)
	}
	for _, k := range []string{"controllerKind", "reconciler kind", "kind"} {
		if e.Kind = str(k); e.Kind != "" {
			break
		}
	}
	return e, true
}

func (e logEntry) matches(f *logsFlags) bool {
	return (f.level == "" || strings.EqualFold(e.Level, f.level)) &&
		(f.kind == "" || strings.EqualFold(e.Kind, f.kind)) &&
		(f.name == "" || e.Name == f.name) &&
		// Lines about no object (manager start-up) stay visible.
		(f.allNamespaces || f.namespace == "" || e.Namespace == "" || e.Namespace == f.namespace)
}

func (e logEntry) format(controller string) string {
	s := fmt.Sprintf("%s %s %s", e.Time, strings.ToUpper(e.Level), controller)
	if e.Kind != "" {
		s += fmt.Sprintf(" %s/%s/%s", e.Kind, e.Namespace, e.Name)
	}
	s += " " + e.Msg
	if e.Error != "" {
		s += ": " + e.Error
	}
	return s
}
