package oci

import "testing"

func TestLatestSemver(t *testing.T) {
	tags := []string{"latest", "v1.0.0", "1.2.0", "v1.10.0", "2.0.0-rc.1", "2.0.0", "sha-abc"}
	tests := []struct {
		constraint, filter, want string
		wantErr                  bool
	}{
		{constraint: ">=1.0.0", want: "2.0.0"},
		{constraint: "1.x", want: "v1.10.0"},
		{constraint: ">=2.0.0-0", want: "2.0.0"},
		{constraint: ">=1.0.0", filter: "^v", want: "v1.10.0"},
		{constraint: ">=3.0.0", wantErr: true},
		{constraint: "not a range", wantErr: true},
		{constraint: ">=1.0.0", filter: "(", wantErr: true},
	}
	for _, tt := range tests {
		got, err := LatestSemver(tags, tt.constraint, tt.filter)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("LatestSemver(%q, %q) = %q, %v; want %q", tt.constraint, tt.filter, got, err, tt.want)
		}
	}
}

func FuzzLatestSemver(f *testing.F) {
	f.Add("v1.0.0,2.0.0", ">=1.0.0", "")
	f.Add("a,b", "1.x", "^v")
	f.Fuzz(func(t *testing.T, tags, constraint, filter string) {
		_, _ = LatestSemver([]string{tags}, constraint, filter)
	})
}
