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
	// Our apply entry; a foreign write of spec.replicas moves the field
	// out of it (lost), a correction brings it back.
	oursWith := func(at int64, fields string) metav1.ManagedFieldsEntry {
		e := entry("kustomize-controller", "", fields, at)
		e.Operation = metav1.ManagedFieldsOperationApply
		return e
	}
	ours := func(at int64) metav1.ManagedFieldsEntry {
		return oursWith(at, `{"f:spec":{"f:replicas":{},"f:paused":{}}}`)
	}
	lost := func(at int64) metav1.ManagedFieldsEntry { return oursWith(at, `{"f:spec":{"f:paused":{}}}`) }
	theirs := func(at int64) metav1.ManagedFieldsEntry {
		return entry("autoscaler", "", `{"f:spec":{"f:replicas":{}}}`, at)
	}
	status := func(at int64) metav1.ManagedFieldsEntry {
		return entry("kube-controller-manager", "status", `{"f:status":{}}`, at)
	}

	// Our own apply and status updates are not drift.
	w.onUpdate("Deployment", obj("1", ours(1)), obj("2", ours(2)))
	w.onUpdate("Deployment", obj("2", ours(2)), obj("3", ours(2), status(3)))
	// Another manager's write to fields we do not apply (the Deployment
	// controller's revision annotation) leaves our entry as it was.
	annotation := entry("kube-controller-manager", "", `{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}}}`, 3)
	w.onUpdate("Deployment", obj("3", ours(2), status(3)), obj("3b", ours(2), status(3), annotation))
	if len(changes) != 0 {
		t.Fatalf("own writes or writes to fields we do not apply reported as drift: %v", changes)
	}
	// Foreign change, correction, foreign change, correction, foreign change: a fight.
	rv := 3
	cur := obj("3", ours(2))
	for i := range FightChanges {
		next := obj(string(rune('a'+i)), lost(int64(10+i)), theirs(int64(10+i)))
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

func TestOursChanged(t *testing.T) {
	w := &Watcher{FieldManager: "kustomize-controller"}
	apply := func(fields string) metav1.ManagedFieldsEntry {
		e := entry("kustomize-controller", "", fields, 1)
		e.Operation = metav1.ManagedFieldsOperationApply
		return e
	}
	for _, tt := range []struct {
		name     string
		old, cur []metav1.ManagedFieldsEntry
		want     bool
	}{
		{name: "same entry", old: []metav1.ManagedFieldsEntry{apply(`{"f:data":{"f:a":{}}}`)},
			cur: []metav1.ManagedFieldsEntry{apply(`{"f:data":{"f:a":{}}}`), entry("kubectl-edit", "", `{"f:data":{"f:b":{}}}`, 2)}, want: false},
		{name: "field taken", old: []metav1.ManagedFieldsEntry{apply(`{"f:data":{"f:a":{},"f:b":{}}}`)},
			cur: []metav1.ManagedFieldsEntry{apply(`{"f:data":{"f:a":{}}}`), entry("kubectl-edit", "", `{"f:data":{"f:b":{}}}`, 2)}, want: true},
		{name: "entry gone", old: []metav1.ManagedFieldsEntry{apply(`{"f:data":{"f:a":{}}}`)},
			cur: []metav1.ManagedFieldsEntry{entry("kubectl-edit", "", `{"f:data":{"f:a":{}}}`, 2)}, want: true},
		{name: "never ours", old: nil, cur: []metav1.ManagedFieldsEntry{entry("kubectl-edit", "", `{}`, 2)}, want: false},
	} {
		if got := w.oursChanged(tt.old, tt.cur); got != tt.want {
			t.Errorf("%s: oursChanged = %v, want %v", tt.name, got, tt.want)
		}
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
