package cosign

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"gotk.dev/pkg/oci"
)

// sigLayer is one simple-signing layer of a signature image: the payload
// as stored and what its annotations carry.
type sigLayer struct {
	layer   v1.Hash
	payload []byte
	sig     []byte
	// Keyless material; nil for a key-pair signature.
	cert       *x509.Certificate
	tlog       []*tlog.Entry
	timestamps [][]byte
	// problem is why the layer cannot be a valid signature, if it cannot.
	problem error
}

// rekorBundle is cosign's record of a Rekor entry: the entry and the
// log's signed entry timestamp (its inclusion promise).
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"` // base64 canonical entry
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"` // hex
	} `json:"Payload"`
}

// entry is the bundle as a transparency log entry with an inclusion
// promise, as sigstore-go verifies it.
func (b *rekorBundle) entry() (*tlog.Entry, error) {
	body, err := base64.StdEncoding.DecodeString(b.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("entry body is not base64: %v", err)
	}
	logID, err := hex.DecodeString(b.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("log ID is not hex: %v", err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("entry body is not JSON: %v", err)
	}
	return tlog.ParseTransparencyLogEntry(&protorekor.TransparencyLogEntry{
		LogIndex:          b.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    b.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: b.SignedEntryTimestamp},
		CanonicalizedBody: body,
	})
}

// rfc3161Timestamp is cosign's record of a timestamp authority's response.
type rfc3161Timestamp struct {
	SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
}

// readSignatures reads the simple-signing layers of the signature image
// at ref. A layer that cannot be read as a signature is returned with its
// problem, so that the caller can say why nothing verified.
func readSignatures(ctx context.Context, ref name.Reference, o oci.Options) ([]*sigLayer, error) {
	img, err := oci.Image(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the signature manifest %s: %w", ref, err)
	}
	var sigs []*sigLayer
	for _, desc := range manifest.Layers {
		if string(desc.MediaType) != SimpleSigningMediaType {
			continue
		}
		s := &sigLayer{layer: desc.Digest}
		s.problem = s.read(img, desc)
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// read fills s from the layer's annotations and content.
func (s *sigLayer) read(img v1.Image, desc v1.Descriptor) error {
	a := desc.Annotations
	sig, err := base64.StdEncoding.DecodeString(a[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("layer %s has no base64 %s annotation", desc.Digest, SignatureAnnotation)
	}
	s.sig = sig
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return err
	}
	rc, err := layer.Compressed() // the payload as stored, its digest checked on read
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxPayloadBytes+1))
	if err != nil {
		return fmt.Errorf("reading payload %s: %w", desc.Digest, err)
	}
	if len(data) > maxPayloadBytes {
		return fmt.Errorf("payload %s is over %d bytes", desc.Digest, maxPayloadBytes)
	}
	s.payload = data
	if v := a[CertificateAnnotation]; v != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(v))
		if err != nil || len(certs) != 1 {
			return fmt.Errorf("layer %s: %s is not one PEM certificate", desc.Digest, CertificateAnnotation)
		}
		s.cert = certs[0]
	}
	if v := a[BundleAnnotation]; v != "" {
		var b rekorBundle
		if err := json.Unmarshal([]byte(v), &b); err != nil {
			return fmt.Errorf("layer %s: %s is not a Rekor bundle: %v", desc.Digest, BundleAnnotation, err)
		}
		e, err := b.entry()
		if err != nil {
			return fmt.Errorf("layer %s: %s: %v", desc.Digest, BundleAnnotation, err)
		}
		s.tlog = append(s.tlog, e)
	}
	if v := a[TimestampAnnotation]; v != "" {
		var ts rfc3161Timestamp
		if err := json.Unmarshal([]byte(v), &ts); err != nil || len(ts.SignedRFC3161Timestamp) == 0 {
			return fmt.Errorf("layer %s: %s is not an RFC 3161 timestamp record", desc.Digest, TimestampAnnotation)
		}
		s.timestamps = append(s.timestamps, ts.SignedRFC3161Timestamp)
	}
	return nil
}

// digest is the SHA-256 of the payload, as the signature's message digest.
func (s *sigLayer) digest() []byte {
	sum := sha256.Sum256(s.payload)
	return sum[:]
}

// verify checks s under p, then that its payload names digest.
func (s *sigLayer) verify(p Policy, digest string) (Result, error) {
	if s.problem != nil {
		return Result{}, s.problem
	}
	c := s.candidate(digest)
	if len(p.Keys) > 0 {
		return c.verifyWithKeys(p.Keys)
	}
	return c.verifyKeyless(p)
}
