package cosign

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"gotk.dev/pkg/oci"
)

// The format of cosign v3 signatures: a Sigstore bundle stored as an OCI
// 1.1 artifact whose subject is the signed manifest.
const (
	// BundleMediaType is the artifact type of a cosign v3 signature
	// manifest and the media type of its one layer, the bundle's JSON.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// BundlePredicateTypeAnnotation names the predicate type of a bundle
	// in the referrers list.
	BundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType"
	// SignPredicateType is the in-toto predicate type of the statement a
	// cosign v3 image signature signs; its subject is the manifest digest.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// bundlePrefix starts every Sigstore bundle media type.
	bundlePrefix = "application/vnd.dev.sigstore.bundle"
	// maxBundles bounds the bundles fetched for one artifact, so that a
	// registry listing many referrers cannot hold a reconcile.
	maxBundles = 32
)

// bundleSig is one Sigstore bundle referring to the artifact.
type bundleSig struct {
	manifest v1.Hash
	b        *bundle.Bundle
	problem  error
}

// readBundles reads the Sigstore bundles referring to digest in repo,
// leaving out those that say they hold another predicate than a cosign
// signature (attestations: SBOMs, provenance). Past maxBundles it stops
// and says so (more).
func readBundles(ctx context.Context, repo name.Repository, digest string, o oci.Options) (sigs []*bundleSig, more bool, err error) {
	idx, err := oci.Referrers(ctx, repo.Digest(digest), o)
	if err != nil {
		return nil, false, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, false, fmt.Errorf("reading the referrers of %s@%s: %w", repo.Name(), digest, err)
	}
	for _, desc := range im.Manifests {
		// Some registries list the config's media type (cosign's is
		// empty) as the artifact type; cosign's annotations still say
		// what the artifact is.
		_, annotated := desc.Annotations[BundlePredicateTypeAnnotation]
		if !strings.HasPrefix(desc.ArtifactType, bundlePrefix) && !annotated {
			continue
		}
		if pt := desc.Annotations[BundlePredicateTypeAnnotation]; pt != "" && pt != SignPredicateType {
			continue
		}
		if len(sigs) == maxBundles {
			return sigs, true, nil
		}
		s := &bundleSig{manifest: desc.Digest}
		s.problem = s.read(ctx, repo, o)
		sigs = append(sigs, s)
	}
	return sigs, false, nil
}

// read fetches the bundle of the manifest s.manifest.
func (s *bundleSig) read(ctx context.Context, repo name.Repository, o oci.Options) error {
	img, err := oci.Image(ctx, repo.Digest(s.manifest.String()), o)
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("reading the bundle manifest: %w", err)
	}
	for _, l := range m.Layers {
		if !strings.HasPrefix(string(l.MediaType), bundlePrefix) {
			continue
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return err
		}
		rc, err := layer.Compressed() // as stored, its digest checked on read
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, maxPayloadBytes+1))
		if err != nil {
			return fmt.Errorf("reading the bundle: %w", err)
		}
		if len(data) > maxPayloadBytes {
			return fmt.Errorf("the bundle is over %d bytes", maxPayloadBytes)
		}
		s.b = &bundle.Bundle{}
		if err := s.b.UnmarshalJSON(data); err != nil {
			return fmt.Errorf("not a Sigstore bundle: %v", err)
		}
		return nil
	}
	return fmt.Errorf("no %s layer", BundleMediaType)
}

// verify checks the bundle under p: its statement must be a cosign
// signature whose subject is digest.
func (s *bundleSig) verify(p Policy, digest string) (Result, error) {
	if s.problem != nil {
		return Result{}, s.problem
	}
	hexDigest, ok := strings.CutPrefix(digest, "sha256:")
	raw, err := hex.DecodeString(hexDigest)
	if !ok || err != nil {
		return Result{}, fmt.Errorf("'%s' is not a sha256 digest", digest)
	}
	c := &candidate{
		keyEntity:  s.b,
		certEntity: s.b,
		artifact:   func() verify.ArtifactPolicyOption { return verify.WithArtifactDigest("sha256", raw) },
		check: func(r *verify.VerificationResult, by string) error {
			// A message signature has no statement: it signs bytes, not this artifact.
			if r.Statement == nil {
				return fmt.Errorf("the bundle signed by %s holds no in-toto statement about the artifact", by)
			}
			if pt := r.Statement.GetPredicateType(); pt != SignPredicateType {
				return fmt.Errorf("the bundle signed by %s is not a cosign signature: its predicate type is %s, not %s", by, pt, SignPredicateType)
			}
			return nil
		},
	}
	if vc, err := s.b.VerificationContent(); err == nil {
		c.cert = vc.Certificate()
	}
	if c.tlog, err = s.b.TlogEntries(); err != nil {
		return Result{}, err
	}
	if len(p.Keys) > 0 {
		return c.verifyWithKeys(p.Keys)
	}
	return c.verifyKeyless(p)
}
