package tagstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestStoreRoundTripSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("ns", "app"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set = %v, want ErrNotFound", err)
	}
	tags := []string{"v1.0.0", "v1.1.0", "latest"}
	if err := s.Set("ns", "app", tags); err != nil {
		t.Fatal(err)
	}
	// A new Store on the same directory (a restarted controller) sees them.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Get("ns", "app")
	if err != nil || !slices.Equal(got, tags) {
		t.Fatalf("Get = %v, %v; want %v", got, err, tags)
	}
	if !s2.Has("ns", "app") || s2.Has("ns", "other") {
		t.Fatal("Has disagrees with the stored files")
	}
	// Replace with an empty list, then delete twice.
	if err := s2.Set("ns", "app", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get("ns", "app"); err != nil || len(got) != 0 {
		t.Fatalf("Get after empty Set = %v, %v", got, err)
	}
	for range 2 {
		if err := s2.Delete("ns", "app"); err != nil {
			t.Fatal(err)
		}
	}
	if s2.Has("ns", "app") {
		t.Fatal("tags still present after Delete")
	}
	// No temp files are left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("leftover files: %v", entries)
	}
}

func TestStoreRejectsBadKeysAndTags(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range [][2]string{{"", "a"}, {"a", ""}, {"..", "a"}, {"a", "../b"}, {"a_b", "c"}, {"a", "b/c"}} {
		if err := s.Set(key[0], key[1], []string{"x"}); err == nil {
			t.Errorf("Set(%q, %q) accepted", key[0], key[1])
		}
	}
	if err := s.Set("ns", "app", []string{"ok", "bad\ntag"}); err == nil {
		t.Error("a tag with a newline was accepted")
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") accepted")
	}
}

func TestStoreLargeListStaysOnDisk(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	tags := make([]string, 20000)
	for i := range tags {
		tags[i] = fmt.Sprintf("main-%07d", i)
	}
	if err := s.Set("ns", "big", tags); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("ns", "big")
	if err != nil || len(got) != len(tags) || got[19999] != tags[19999] {
		t.Fatalf("got %d tags, err %v", len(got), err)
	}
	fi, err := os.Stat(filepath.Join(dir, "ns_big.tags"))
	if err != nil || fi.Size() != int64(20000*13) {
		t.Fatalf("file = %v, %v", fi, err)
	}
}
