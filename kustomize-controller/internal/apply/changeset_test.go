package apply

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func changes(n int, kind string, a Action) ChangeSet {
	cs := make(ChangeSet, n)
	for i := range cs {
		cs[i] = Change{Object: fmt.Sprintf("%s/ns/%s-%d", kind, strings.ToLower(kind), i), Action: a}
	}
	return cs
}

func TestChangeSetString(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		name string
		cs   ChangeSet
		want string
	}{
		{name: "nothing written", cs: append(changes(3, "ConfigMap", Unchanged), changes(1, "Secret", Skipped)...), want: ""},
		{name: "a few, one per line as Flux does",
			cs:   append(changes(2, "ConfigMap", Created), Change{Object: "Deployment/ns/app", Action: Configured}, Change{Object: "Secret/ns/s", Action: Unchanged}),
			want: "ConfigMap/ns/configmap-0 created\nConfigMap/ns/configmap-1 created\nDeployment/ns/app configured"},
		{name: "many: counted per action and kind, first names",
			cs: append(append(changes(4990, "ConfigMap", Created), changes(8, "Secret", Created)...), changes(2, "Deployment", Configured)...),
			want: "5000 objects changed\n" +
				"created 4998 (ConfigMap 4990, Secret 8): ConfigMap/ns/configmap-0, ConfigMap/ns/configmap-1, ConfigMap/ns/configmap-2 and 4995 more\n" +
				"configured 2 (Deployment 2): Deployment/ns/deployment-0, Deployment/ns/deployment-1"},
		{name: "a few long names: summarised to stay under the limit",
			cs: []Change{{Object: "ConfigMap/ns/a" + long, Action: Deleted}, {Object: "ConfigMap/ns/b" + long, Action: Deleted},
				{Object: "ConfigMap/ns/c" + long, Action: Deleted}, {Object: "ConfigMap/ns/d" + long, Action: Deleted}},
			want: "4 objects changed\ndeleted 4 (ConfigMap 4): ConfigMap/ns/a" + long + ", ConfigMap/ns/b" + long + ", ConfigMap/ns/c" + long + " and 1 more"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cs.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestChangeSetStringLimit(t *testing.T) {
	for _, n := range []int{11, 5000, 200000} {
		cs := changes(n, strings.Repeat("VeryLongKindName", 20), Created)
		if got := cs.String(); len(got) > MaxMessage {
			t.Errorf("%d changes: %d bytes, want at most %d", n, len(got), MaxMessage)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{in: "short", n: 10, want: "short"},
		{in: "0123456789abc", n: 10, want: "0123456…"},
		{in: "ééééé", n: 8, want: "éé…"}, // never cuts a character in half
	} {
		if got := Truncate(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestJoinErrors(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{
		{n: 0, want: ""},
		{n: 2, want: "e0\ne1"},
		{n: 5000, want: "e0\ne1\ne2\ne3\ne4\nand 4995 more objects failed"},
	} {
		var errs []error
		for i := range tt.n {
			errs = append(errs, fmt.Errorf("e%d", i))
		}
		err := joinErrors(errs)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%d errors: got %q, want %q", tt.n, got, tt.want)
		}
		if tt.n > 0 && !errors.Is(err, errs[0]) {
			t.Errorf("%d errors: the first is not wrapped", tt.n)
		}
	}
}

func TestHolds(t *testing.T) {
	live := map[string]any{
		"metadata": map[string]any{"name": "a", "uid": "1", "labels": map[string]any{"app": "a", "extra": "x"}},
		"spec":     map[string]any{"replicas": int64(2), "ports": []any{map[string]any{"port": int64(80), "protocol": "TCP"}}},
	}
	for _, tt := range []struct {
		name    string
		desired map[string]any
		want    bool
	}{
		{name: "subset with defaults and other fields live", want: true, desired: map[string]any{
			"metadata": map[string]any{"name": "a", "labels": map[string]any{"app": "a"}},
			"spec":     map[string]any{"replicas": 2, "ports": []any{map[string]any{"port": 80}}}}},
		{name: "changed value", want: false, desired: map[string]any{"spec": map[string]any{"replicas": 3}}},
		{name: "missing field", want: false, desired: map[string]any{"spec": map[string]any{"paused": true}}},
		{name: "list item added", want: false, desired: map[string]any{"spec": map[string]any{"ports": []any{
			map[string]any{"port": 80}, map[string]any{"port": 81}}}}},
		{name: "empty map not live", want: false, desired: map[string]any{"data": map[string]any{}}},
		{name: "type differs", want: false, desired: map[string]any{"spec": map[string]any{"replicas": "2"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := holds(live, tt.desired); got != tt.want {
				t.Errorf("holds = %v, want %v", got, tt.want)
			}
		})
	}
}
