package catalog

import (
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/apis"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestWriteTableShardColumn: the SHARD column appears only when some
// listed object carries a shard key; the others show "-".
func TestWriteTableShardColumn(t *testing.T) {
	k, err := ByKind(kustomizev1.KustomizationKind)
	if err != nil {
		t.Fatal(err)
	}
	ks := func(name string, labels map[string]string) client.Object {
		return &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps", Labels: labels}}
	}
	shard1 := map[string]string{apis.ShardKeyLabel: "shard1"}
	tests := []struct {
		name          string
		objs          []client.Object
		allNamespaces bool
		noHeader      bool
		want          [][]string // fields of each line
	}{
		{name: "no shards", objs: []client.Object{ks("a", nil)}, want: [][]string{
			{"NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"},
			{"a", "false", "Unknown", "waiting", "to", "be", "reconciled"},
		}},
		{name: "one sharded", objs: []client.Object{ks("a", nil), ks("b", shard1)}, want: [][]string{
			{"NAME", "SHARD", "REVISION", "SUSPENDED", "READY", "MESSAGE"},
			{"a", "-", "false", "Unknown", "waiting", "to", "be", "reconciled"},
			{"b", "shard1", "false", "Unknown", "waiting", "to", "be", "reconciled"},
		}},
		{name: "all namespaces", objs: []client.Object{ks("b", shard1)}, allNamespaces: true, want: [][]string{
			{"NAMESPACE", "NAME", "SHARD", "REVISION", "SUSPENDED", "READY", "MESSAGE"},
			{"apps", "b", "shard1", "false", "Unknown", "waiting", "to", "be", "reconciled"},
		}},
		{name: "no header", objs: []client.Object{ks("a", nil)}, noHeader: true, want: [][]string{
			{"a", "false", "Unknown", "waiting", "to", "be", "reconciled"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			WriteTable(&buf, k, tt.objs, TableOptions{AllNamespaces: tt.allNamespaces, NoHeader: tt.noHeader})
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tt.want), buf.String())
			}
			for i, l := range lines {
				if got := strings.Fields(l); strings.Join(got, " ") != strings.Join(tt.want[i], " ") {
					t.Errorf("line %d: %q, want fields %q", i, l, tt.want[i])
				}
			}
		})
	}
}
