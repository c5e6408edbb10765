package drift

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func entry(manager, subresource, fields string, at int64) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: subresource,
		Time: &metav1.Time{Time: time.Unix(at, 0)}, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

func TestFieldPaths(t *testing.T) {
	tests := []struct {
		fields string
		want   []string
	}{
		{`{"f:spec":{"f:replicas":{}}}`, []string{"spec.replicas"}},
		{`{"f:data":{".":{},"f:a":{},"f:b":{}}}`, []string{"data.a", "data.b"}},
		{`{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}`, []string{"spec.containers"}},
		{`not json`, nil},
	}
	for _, tt := range tests {
		got := fieldPaths(entry("m", "", tt.fields, 1))
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.fields, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.fields, got, tt.want)
			}
		}
	}
}

func TestOnUpdateFiltersAndFights(t *testing.T) {
	var changes []Change
	w := &Watcher{FieldManager: "kustomize-controller", Notify: func(c Change) { changes = append(changes, c) }}
	labels := map[string]string{"kustomize.toolkit.fluxcd.io/name": "app", "kustomize.toolkit.fluxcd.io/namespace": "ns"}
	obj := func(rv string, mf ...metav1.ManagedFieldsEntry) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1",
			ResourceVersion: rv, Labels: labels, ManagedFields: mf}}
	}
	ours := func(at int64) metav1.ManagedFieldsEntry {
		return entry("kustomize-controller", "", `{"f:spec":{"f:replicas":{}}}`, at)
	}
	theirs := func(at int64) metav1.ManagedFieldsEntry {
		return entry("autoscaler", "", `{"f:spec":{"f:replicas":{}}}`, at)
	}
	status := func(at int64) metav1.ManagedFieldsEntry {
		return entry("kube-controller-manager", "status", `{"f:status":{}}`, at)
	}

	// Our own apply and status updates are not drift.
	w.onUpdate("Deployment", obj("1", ours(1)), obj("2", ours(2)))
	w.onUpdate("Deployment", obj("2", ours(2)), obj("3", ours(2), status(3)))
	if len(changes) != 0 {
		t.Fatalf("own writes reported as drift: %v", changes)
	}
	// Foreign change, correction, foreign change, correction, foreign change: a fight.
	rv := 3
	cur := obj("3", ours(2))
	for i := range FightChanges {
		next := obj(string(rune('a'+i)), ours(int64(10+i)), theirs(int64(10+i)))
		w.onUpdate("Deployment", cur, next)
		corrected := obj(string(rune('A'+i)), ours(int64(20+i)), theirs(int64(10+i)))
		w.onUpdate("Deployment", next, corrected)
		cur = corrected
		rv++
	}
	if len(changes) != FightChanges || changes[0].Manager != "autoscaler" || changes[0].Owner != (client.ObjectKey{Namespace: "ns", Name: "app"}) {
		t.Fatalf("changes = %+v", changes)
	}
	f, ok := w.Fights()["Deployment/ns/web"]
	if !ok || f.Manager != "autoscaler" || len(f.Fields) != 1 || f.Fields[0] != "spec.replicas" {
		t.Fatalf("fight = %+v, %v", f, ok)
	}
	if !w.TakeDirty(client.ObjectKey{Namespace: "ns", Name: "app"}) || w.TakeDirty(client.ObjectKey{Namespace: "ns", Name: "app"}) {
		t.Fatal("dirty flag not set once")
	}

	// Deleting the object is drift too, and forgets its fight and history.
	w.onDelete("Deployment", cur)
	if len(changes) != FightChanges+1 || changes[FightChanges].Manager != "" {
		t.Fatalf("deletion not reported: %+v", changes)
	}
	if len(w.Fights()) != 0 || len(w.history) != 0 || len(w.corrected) != 0 {
		t.Fatalf("state kept for a deleted object: fights %v, history %v, corrected %v", w.Fights(), w.history, w.corrected)
	}
}

func TestRepeatedEditsWithoutCorrectionAreNoFight(t *testing.T) {
	w := &Watcher{FieldManager: "kustomize-controller"}
	labels := map[string]string{"kustomize.toolkit.fluxcd.io/name": "app"}
	var prev *metav1.PartialObjectMetadata
	for i := range 5 {
		o := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "c", UID: "u", ResourceVersion: string(rune('a' + i)), Labels: labels,
			ManagedFields: []metav1.ManagedFieldsEntry{entry("kubectl-edit", "", `{"f:data":{}}`, int64(i))}}}
		if prev != nil {
			w.onUpdate("ConfigMap", prev, o)
		}
		prev = o
	}
	if len(w.Fights()) != 0 {
		t.Fatalf("edits without corrections reported as a fight: %v", w.Fights())
	}
}
