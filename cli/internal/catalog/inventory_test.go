package catalog

import "testing"

func TestParseInventoryID(t *testing.T) {
	tests := []struct {
		id      string
		want    InventoryEntry
		wantErr bool
	}{
		{id: "production_my-app_apps_Deployment", want: InventoryEntry{Namespace: "production", Name: "my-app", Group: "apps", Kind: "Deployment"}},
		{id: "_production__Namespace", want: InventoryEntry{Name: "production", Kind: "Namespace"}},
		{id: "a_b_c", wantErr: true},
		{id: "ns__apps_Deployment", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseInventoryID(tt.id)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseInventoryID(%q) = %+v, %v", tt.id, got, err)
		}
	}
}

func FuzzParseInventoryID(f *testing.F) {
	for _, s := range []string{"production_my-app_apps_Deployment", "_x__Namespace", "___", "a_b_c_d_e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		e, err := ParseInventoryID(id)
		if err == nil && (e.Name == "" || e.Kind == "") {
			t.Fatalf("accepted %q without name or kind", id)
		}
	})
}
