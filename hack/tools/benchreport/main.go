// Command benchreport reads `go test -bench` output on stdin, echoes it,
// and writes the benchmark lines as a table to stdout and as JSON to a
// file, so runs can be compared by a person and by a program.
//
//	go test -bench . ./... | benchreport -json bench/results/2026-01-01T10-00-00.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one benchmark line: its name, package, iterations and every
// reported metric by unit (ns/op, B/op, allocs/op and custom ones).
type Result struct {
	Package    string             `json:"package"`
	Name       string             `json:"name"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

// Report is the JSON file.
type Report struct {
	Time    time.Time `json:"time"`
	Results []Result  `json:"results"`
}

func main() {
	jsonPath := flag.String("json", "", "file to write the results to as JSON")
	flag.Parse()
	report := Report{Time: time.Now().UTC()}
	pkg := ""
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p
		}
		if r, ok := parse(line); ok {
			r.Package = pkg
			report.Results = append(report.Results, r)
		}
	}
	printTable(report.Results)
	if *jsonPath != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonPath, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		fmt.Printf("\nresults written to %s\n", *jsonPath)
	}
}

// parse reads "BenchmarkX-2  10  123 ns/op  4.5 unit ...".
func parse(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Result{}, false
	}
	r := Result{Name: f[0], Iterations: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		r.Metrics[f[i+1]] = v
	}
	return r, true
}

func printTable(results []Result) {
	if len(results) == 0 {
		fmt.Println("no benchmark results")
		return
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPACKAGE\tBENCHMARK\tMETRICS")
	for _, r := range results {
		units := make([]string, 0, len(r.Metrics))
		for u := range r.Metrics {
			units = append(units, u)
		}
		sort.Strings(units)
		var parts []string
		for _, u := range units {
			parts = append(parts, fmt.Sprintf("%s %s", strconv.FormatFloat(r.Metrics[u], 'g', 6, 64), u))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.TrimPrefix(r.Package, "gotk.dev/"), r.Name, strings.Join(parts, ", "))
	}
	_ = tw.Flush()
}
