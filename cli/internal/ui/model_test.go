package ui

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestQueryApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []row{
		{Namespace: "b", Name: "web", Status: StatusReady, Created: t0},
		{Namespace: "a", Name: "db", Status: StatusFailed, Created: t0.Add(time.Hour)},
		{Namespace: "a", Name: "web", Status: StatusSuspended, Created: t0.Add(2 * time.Hour)},
	}
	many := make([]row, 120)
	for i := range many {
		many[i] = row{Namespace: "n", Name: fmt.Sprintf("o%03d", i)}
	}
	names := func(rs []row) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Namespace+"/"+r.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		q         query
		rows      []row
		want      []string
		wantPages int
	}{
		{"default is namespace/name", query{}, rows, []string{"a/db", "a/web", "b/web"}, 1},
		{"name filter", query{Name: "we"}, rows, []string{"a/web", "b/web"}, 1},
		{"status filter", query{Status: StatusFailed}, rows, []string{"a/db"}, 1},
		{"newest first", query{Sort: "age"}, rows, []string{"a/web", "a/db", "b/web"}, 1},
		{"oldest first", query{Sort: "-age"}, rows, []string{"b/web", "a/db", "a/web"}, 1},
		{"by status", query{Sort: "status"}, rows, []string{"a/db", "b/web", "a/web"}, 1},
		{"last page", query{Page: 3}, many, []string{"n/o100", "n/o119"}, 3},
		{"page past the end is the last", query{Page: 9}, many, []string{"n/o100", "n/o119"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := tc.q.apply(slices.Clone(tc.rows))
			g := names(got)
			if len(tc.rows) > 100 {
				g = []string{g[0], g[len(g)-1]}
			}
			if !slices.Equal(g, tc.want) || pages != tc.wantPages {
				t.Fatalf("got %v (%d pages), want %v (%d pages)", g, pages, tc.want, tc.wantPages)
			}
		})
	}
}
