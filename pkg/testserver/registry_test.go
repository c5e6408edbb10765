package testserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistryPushAndPaginatedList(t *testing.T) {
	reg := NewRegistryForTest(t, RegistryOptions{Auth: BasicAuth{Username: "bob", Password: "pw"}})
	auth := remote.WithAuth(&authn.Basic{Username: "bob", Password: "pw"})
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(reg.Host()+"/team/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if err := remote.Write(repo.Tag(fmt.Sprintf("1.0.%02d", i)), img, auth); err != nil {
			t.Fatalf("write tag %d: %v", i, err)
		}
	}

	if _, err := remote.List(repo); err == nil {
		t.Fatal("anonymous list succeeded")
	}
	bad := remote.WithAuth(&authn.Basic{Username: "bob", Password: "wrong"})
	if _, err := remote.List(repo, bad); err == nil {
		t.Fatal("list with wrong password succeeded")
	}

	before := reg.TagListRequests()
	tags, err := remote.List(repo, auth, remote.WithPageSize(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 25 || tags[0] != "1.0.00" || tags[24] != "1.0.24" {
		t.Fatalf("got %d tags: %v", len(tags), tags)
	}
	if pages := reg.TagListRequests() - before; pages != 3 {
		t.Fatalf("pages = %d, want 3", pages)
	}
	if n := reg.LinkHeadersSent(); n != 2 {
		t.Fatalf("Link headers sent = %d, want 2", n)
	}

	// The image round-trips.
	got, err := remote.Image(repo.Tag("1.0.07"), auth)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("digest = %s, want %s", d, want)
	}
}

func TestRegistryTagPagingEdges(t *testing.T) {
	reg := NewRegistryForTest(t, RegistryOptions{})
	img, _ := random.Image(64, 1)
	repo, _ := name.NewRepository(reg.Host()+"/edge", name.Insecure)
	for _, tag := range []string{"a", "b", "c", "d"} {
		if err := remote.Write(repo.Tag(tag), img); err != nil {
			t.Fatal(err)
		}
	}
	get := func(query string) (tags []string, link string) {
		t.Helper()
		resp, err := reg.Client().Get(reg.URL() + "/v2/edge/tags/list" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", query, resp.StatusCode)
		}
		var body struct{ Tags []string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Tags, resp.Header.Get("Link")
	}
	if tags, link := get("?n=2"); fmt.Sprint(tags) != "[a b]" || link != `</v2/edge/tags/list?last=b&n=2>; rel="next"` {
		t.Fatalf("n=2: %v %q", tags, link)
	}
	// A full last page has no Link; paging past the end gives an empty list.
	if tags, link := get("?n=2&last=b"); fmt.Sprint(tags) != "[c d]" || link != "" {
		t.Fatalf("n=2&last=b: %v %q", tags, link)
	}
	if tags, link := get("?n=2&last=d"); len(tags) != 0 || link != "" {
		t.Fatalf("n=2&last=d: %v %q", tags, link)
	}
	if tags, _ := get(""); len(tags) != 4 {
		t.Fatalf("unpaged: %v", tags)
	}
}
