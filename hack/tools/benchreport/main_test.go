package main

import "testing"

func TestParse(t *testing.T) {
	r, ok := parse("BenchmarkScan20kTags-2   \t       1\t 215570005 ns/op\t         3.290 heap-MiB/scan\t        58.06 peak-RSS-MiB")
	if !ok || r.Name != "BenchmarkScan20kTags-2" || r.Iterations != 1 || r.Metrics["ns/op"] != 215570005 || r.Metrics["peak-RSS-MiB"] != 58.06 {
		t.Fatalf("parse = %+v, %v", r, ok)
	}
	for _, bad := range []string{"--- BENCH: X", "BenchmarkX-2 notanumber", "ok  gotk.dev/pkg 1.2s", "BenchmarkY 1 2"} {
		if _, ok := parse(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}
