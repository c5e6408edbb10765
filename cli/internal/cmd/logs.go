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
}

func newLogsCommand(g *Globals) *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the logs of the controllers `gotk dev` runs, filtered by object and level",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	for {
		for _, file := range files {
			controller := strings.TrimSuffix(filepath.Base(file), ".log")
			if f.controller != "" && controller != f.controller {
				continue
			}
			n, err := printLogLines(out, file, offsets[file], controller, f)
			if err != nil {
				return err
			}
			offsets[file] = n
		}
		if !f.follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// printLogLines prints the JSON log lines of file from offset on that pass
// the filters, and returns the new offset.
func printLogLines(out io.Writer, file string, offset int64, controller string, f *logsFlags) (int64, error) {
	fh, err := os.Open(file)
	if err != nil {
		return offset, err
	}
	defer fh.Close()
	if _, err := fh.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	r := bufio.NewReader(fh)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return offset, nil // a partial last line is read on the next pass
		}
		offset += int64(len(line))
		if entry, ok := parseLogLine(line); ok && entry.matches(f) {
			fmt.Fprintln(out, entry.format(controller))
		}
	}
}

// logEntry is one line of a controller's JSON log.
type logEntry struct {
	Time, Level, Msg, Kind, Name, Namespace, Error string
}

func parseLogLine(line string) (logEntry, bool) {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return logEntry{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	e := logEntry{Time: str("ts"), Level: str("level"), Msg: str("msg"), Name: str("name"), Namespace: str("namespace"), Error: str("error")}
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
		(f.name == "" || e.Name == f.name)
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
