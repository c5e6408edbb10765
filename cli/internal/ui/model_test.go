package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
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

// TestQueryToRows: the filters apply before an object becomes a row, and
// only the rows a page shows read their revision.
func TestQueryToRows(t *testing.T) {
	k, err := catalog.ByKind(sourcev1.GitRepositoryKind)
	if err != nil {
		t.Fatal(err)
	}
	repo := func(name string, ready metav1.ConditionStatus) client.Object {
		return &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: name},
			Status: sourcev1.GitRepositoryStatus{Artifact: &meta.Artifact{Revision: "main@sha1:" + name},
				Conditions: []metav1.Condition{{Type: meta.ReadyCondition, Status: ready, Message: name + " says"}}}}
	}
	objs := []client.Object{repo("web", metav1.ConditionTrue), repo("db", metav1.ConditionFalse), repo("web-2", metav1.ConditionFalse)}
	for _, tc := range []struct {
		name string
		q    query
		want []string
	}{
		{"no filter", query{}, []string{"web Ready", "db Failed", "web-2 Failed"}},
		{"name", query{Name: "web"}, []string{"web Ready", "web-2 Failed"}},
		{"status", query{Status: StatusFailed}, []string{"db Failed", "web-2 Failed"}},
		{"both", query{Name: "web", Status: StatusFailed}, []string{"web-2 Failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := tc.q.toRows(k, objs)
			var got []string
			for _, r := range rows {
				got = append(got, r.Name+" "+r.Status)
				if r.Revision != "" || r.Message != r.Name+" says" {
					t.Fatalf("row %+v: want no revision yet and the Ready message", r)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			fillRevisions(k, rows)
			for _, r := range rows {
				if r.Revision != "main@sha1:"+r.Name {
					t.Fatalf("row %s: revision %q", r.Name, r.Revision)
				}
			}
		})
	}
}

// TestFilteredListPage: a list filtered by namespace, status and name
// shows only the matching objects, with their revision, and the kind's
// total in the namespace.
func TestFilteredListPage(t *testing.T) {
	ns := env.NewNamespace(t)
	ks := kustomization(t, ns, "app-1", metav1.ConditionFalse, "app-1 failed")
	ks.Status.LastAppliedRevision = "main@sha1:aaaa"
	if err := env.Client.Status().Update(context.Background(), ks); err != nil {
		t.Fatal(err)
	}
	kustomization(t, ns, "app-2", metav1.ConditionTrue, "app-2 applied")
	kustomization(t, ns, "db-1", metav1.ConditionFalse, "db-1 failed")
	b := open(t, env.Config, "")
	body := b.eventually(t, "/kinds/kustomization?namespace="+ns+"&status=Failed&name=app", "main@sha1:aaaa")
	for _, want := range []string{"app-1 failed", "3 objects"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the filtered list lacks %q:\n%s", want, body)
		}
	}
	for _, not := range []string{"app-2", "db-1"} {
		if strings.Contains(body, not) {
			t.Fatalf("the filtered list shows %s:\n%s", not, body)
		}
	}
}
