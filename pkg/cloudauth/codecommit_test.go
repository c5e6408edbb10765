package cloudauth

import (
	"testing"
	"time"
)

// TestCodeCommitRegion: the region comes from CodeCommit's Git hosts
// (FIPS and China ones included) and from no other host.
func TestCodeCommitRegion(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"git-codecommit.eu-west-1.amazonaws.com", "eu-west-1"},
		{"GIT-CODECOMMIT.us-east-2.amazonaws.com", "us-east-2"},
		{"git-codecommit-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
		{"git-codecommit.cn-north-1.amazonaws.com.cn", "cn-north-1"},
		{"codecommit.eu-west-1.amazonaws.com", ""},
		{"git-codecommit.eu-west-1.amazonaws.com.evil.example", ""},
		{"127.0.0.1", ""},
	} {
		if got := CodeCommitRegion(c.host); got != c.want {
			t.Errorf("CodeCommitRegion(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}

// TestCodeCommitSignature checks the signature against one computed
// separately (with Python's hmac and hashlib) from CodeCommit's Git
// canonical request, so a slip in the request's shape shows.
func TestCodeCommitSignature(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	got := CodeCommitSignature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "eu-west-1", "git-codecommit.eu-west-1.amazonaws.com", "/v1/repos/app", at)
	if want := "2a8f46d35687712fc31ad65201008277b9a7016b5b3f7550d5a5a1f5cd04e1fe"; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}
