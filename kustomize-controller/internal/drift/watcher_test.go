package drift

import (
	"fmt"
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

// TestOnUpdateFiltersAndFights runs on objects as the API server sends
// them and as the informers' transform (slim) keeps them: both must
// report the same drift and fights.
func TestOnUpdateFiltersAndFights(t *testing.T) {
	for _, slimmed := range []bool{false, true} {
		t.Run(fmt.Sprintf("slim=%v", slimmed), func(t *testing.T) { testOnUpdateFiltersAndFights(t, slimmed) })
	}
}

func testOnUpdateFiltersAndFights(t *testing.T, slimmed bool) {
	var changes []Change
	w := &Watcher{FieldManager: "kustomize-controller", Notify: func(c Change) { changes = append(changes, c) }}
	labels := map[string]string{"kustomize.toolkit.fluxcd.io/name": "app", "kustomize.toolkit.fluxcd.io/namespace": "ns", "app": "web"}
	obj := func(rv string, mf ...metav1.ManagedFieldsEntry) *metav1.PartialObjectMetadata {
		o := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1",
			ResourceVersion: rv, Labels: labels, ManagedFields: mf}}
		if !slimmed {
			return o
		}
		s, err := w.slim(o)
		if err != nil {
			t.Fatal(err)
		}
		return s.(*metav1.PartialObjectMetadata)
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

// TestSlim checks what the informers' transform keeps of an object.
func TestSlim(t *testing.T) {
	w := &Watcher{FieldManager: "kustomize-controller"}
	ours := entry("kustomize-controller", "", `{"f:spec":{"f:replicas":{}}}`, 1)
	ours.Operation = metav1.ManagedFieldsOperationApply
	status := entry("kube-controller-manager", "status", `{"f:status":{"f:replicas":{}}}`, 2)
	scale := entry("kubectl", "scale", `{"f:spec":{"f:replicas":{}}}`, 3)
	edit := entry("kubectl-edit", "", `{"f:data":{"f:b":{}}}`, 4)
	in := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1", ResourceVersion: "7",
		Labels:          map[string]string{"kustomize.toolkit.fluxcd.io/name": "app", "kustomize.toolkit.fluxcd.io/namespace": "ns", "app": "web"},
		Annotations:     map[string]string{"deployment.kubernetes.io/revision": "1"},
		OwnerReferences: []metav1.OwnerReference{{Name: "x"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{ours, status, scale, edit}}}
	out, err := w.slim(in)
	if err != nil {
		t.Fatal(err)
	}
	o := out.(*metav1.PartialObjectMetadata)
	if o.Name != "web" || o.Namespace != "ns" || o.UID != "u1" || o.ResourceVersion != "7" {
		t.Errorf("identity not kept: %+v", o.ObjectMeta)
	}
	if len(o.Labels) != 2 || len(o.Annotations) != 0 || len(o.OwnerReferences) != 0 {
		t.Errorf("kept labels %v, annotations %v, owners %v; want the two owner labels only", o.Labels, o.Annotations, o.OwnerReferences)
	}
	if key, ok := owner(o); !ok || key != (client.ObjectKey{Namespace: "ns", Name: "app"}) {
		t.Errorf("owner = %v, %v", key, ok)
	}
	for i, tt := range []struct {
		in     metav1.ManagedFieldsEntry
		digest bool
	}{{ours, true}, {status, true}, {scale, false}, {edit, false}} {
		got := o.ManagedFields[i]
		if got.Manager != tt.in.Manager || got.Subresource != tt.in.Subresource || !got.Time.Equal(tt.in.Time) {
			t.Errorf("entry %d: %+v, want the manager, subresource and time of %+v", i, got, tt.in)
		}
		if kept := string(got.FieldsV1.Raw) == string(tt.in.FieldsV1.Raw); kept == tt.digest {
			t.Errorf("entry %d (%s/%s): fields %q, digest wanted: %v", i, tt.in.Manager, tt.in.Subresource, got.FieldsV1.Raw, tt.digest)
		}
	}
	if string(in.ManagedFields[0].FieldsV1.Raw) != `{"f:spec":{"f:replicas":{}}}` {
		t.Error("the input object was changed")
	}
}
