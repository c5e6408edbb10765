// Package imagebuild builds gotk's container images without Docker: it
// compiles each component with `go build` (static, reproducible flags) and
// assembles OCI images with go-containerregistry, one index per component
// holding one image per platform.
//
// Every image has two layers: a base shared by all (a CA bundle from the
// pinned Go module golang.org/x/crypto/x509roots/fallback, /etc/passwd and
// /etc/group with the nonroot user 65532, /tmp, the user's home) and the
// component's binary. No shell. Builds are reproducible: every timestamp is
// SourceDate, tar headers are normalised, so one commit gives the same
// digests on every machine with the same Go toolchain.
//
// Use from Go (for example a test that loads the images in a cluster):
//
//	res, err := imagebuild.Build(ctx, imagebuild.Options{
//		Root: repoRoot, Platforms: []string{"linux/amd64"}, OutDir: dir})
//	// res.Tarballs["linux/amd64"] is a `docker load`-able tarball;
//	// res.Images[i].Ref names each image in it.
package imagebuild

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"gotk.dev/pkg/version"
)

// Build compiles and assembles the images the options ask for, writes the
// tarballs (Options.OutDir) and pushes the indexes (Options.Push).
func Build(ctx context.Context, o Options) (Result, error) {
	o, err := withDefaults(o)
	if err != nil {
		return Result{}, err
	}
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	work := o.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "gotk-imagebuild-"); err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(work)
	}
	basePath := filepath.Join(work, "base.tar.gz")
	entries, err := baseEntries()
	if err != nil {
		return Result{}, err
	}
	if err := writeLayer(basePath, entries, o.Created); err != nil {
		return Result{}, fmt.Errorf("base layer: %w", err)
	}
	base, err := fileLayer(basePath)
	if err != nil {
		return Result{}, err
	}

	res := Result{Tarballs: map[string]string{}}
	imgs := map[string]map[platform]v1.Image{} // component → platform → image
	var order []platform
	for _, s := range o.Platforms {
		p, _ := parsePlatform(s) // validated
		if slices.Contains(order, p) {
			continue
		}
		order = append(order, p)
		perRef, err := buildPlatform(ctx, o, p, work, base)
		if err != nil {
			return Result{}, err
		}
		refs := map[name.Reference]v1.Image{}
		for c, img := range perRef {
			if imgs[c] == nil {
				imgs[c] = map[platform]v1.Image{}
			}
			imgs[c][p] = img
			refs[ref(o, c)] = img
		}
		if o.OutDir != "" {
			path, err := writeTarball(o, p, refs)
			if err != nil {
				return Result{}, err
			}
			res.Tarballs[p.String()] = path
		}
	}

	for _, c := range o.Components {
		img, err := finish(ctx, o, c, imgs[c.Name], order)
		if err != nil {
			return Result{}, err
		}
		res.Images = append(res.Images, img)
	}
	return res, nil
}

// withDefaults fills the unset options (see Options).
func withDefaults(o Options) (Options, error) {
	if o.Components == nil {
		o.Components = Components
	}
	if o.Platforms == nil {
		o.Platforms = DefaultPlatforms
	}
	if o.Registry == "" {
		o.Registry = DefaultRegistry
	}
	if o.Version == "" {
		o.Version = version.Version
	}
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if o.Licenses == "" {
		o.Licenses = DefaultLicenses
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Root == "" {
		return o, nil // validate says so
	}
	if o.Revision == "" {
		o.Revision = Revision(o.Root)
	}
	if o.Created.IsZero() {
		t, err := SourceDate(o.Root)
		if err != nil {
			return o, err
		}
		o.Created = t
	}
	o.Created = o.Created.UTC()
	return o, nil
}

// buildPlatform compiles the components for p and assembles their images,
// keyed by component name.
func buildPlatform(ctx context.Context, o Options, p platform, work string, base v1.Layer) (map[string]v1.Image, error) {
	dir := filepath.Join(work, p.os+"-"+p.arch)
	bins, err := goBuild(ctx, o, p, dir)
	if err != nil {
		return nil, err
	}
	out := map[string]v1.Image{}
	for _, c := range o.Components {
		entries, err := componentEntries(o, c, p, bins)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, c.Name+".tar.gz")
		if err := writeLayer(path, entries, o.Created); err != nil {
			return nil, fmt.Errorf("%s layer for %s: %w", c.Name, p, err)
		}
		bin, err := fileLayer(path)
		if err != nil {
			return nil, err
		}
		if out[c.Name], err = image(o, c, p, base, bin); err != nil {
			return nil, fmt.Errorf("%s image for %s: %w", c.Name, p, err)
		}
	}
	return out, nil
}

// ref is <Registry>/<component>:<Version> (validated).
func ref(o Options, component string) name.Tag {
	t, _ := name.NewTag(o.Registry + "/" + component + ":" + o.Version)
	return t
}

// writeTarball writes a docker-save style tarball of every component for
// one platform (what `docker load`, `podman load` and `kind load
// image-archive` read), atomically.
func writeTarball(o Options, p platform, refs map[name.Reference]v1.Image) (string, error) {
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(o.OutDir, fmt.Sprintf("gotk-%s-%s-%s.tar", o.Version, p.os, p.arch))
	tmp := path + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	logf(o, "wrote %s", path)
	return path, nil
}

// finish puts a component's images in its index, records digests and
// sizes, and pushes when asked.
func finish(ctx context.Context, o Options, c Component, imgs map[platform]v1.Image, order []platform) (Image, error) {
	out := Image{Component: c, Ref: ref(o, c.Name), Manifests: map[string]v1.Hash{}, Sizes: map[string]int64{}}
	for _, p := range order {
		d, err := imgs[p].Digest()
		if err != nil {
			return out, err
		}
		m, err := imgs[p].Manifest()
		if err != nil {
			return out, err
		}
		out.Manifests[p.String()] = d
		for _, l := range m.Layers {
			out.Sizes[p.String()] += l.Size
		}
	}
	idx := index(o, c, imgs, order)
	d, err := idx.Digest()
	if err != nil {
		return out, err
	}
	out.Index = d
	if o.Push {
		if err := remote.WriteIndex(out.Ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain)); err != nil {
			return out, fmt.Errorf("pushing %s: %w", out.Ref, err)
		}
		logf(o, "pushed %s@%s", out.Ref, d)
	}
	return out, nil
}
