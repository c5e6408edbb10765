package cosigntest

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"gotk.dev/source-controller/internal/cosign"
)

// inTotoPayloadType is the DSSE payload type of an in-toto statement.
const inTotoPayloadType = "application/vnd.in-toto+json"

// Statement is the in-toto statement cosign v3 signs for an image:
// subject the manifest digest, predicate type predicateType (cosign's
// signature predicate, or another for an attestation).
func Statement(repo name.Repository, digest, predicateType string) []byte {
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []map[string]any{{"name": repo.Name(), "digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{},
	}
	data, err := json.Marshal(st)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return data
}

// BundleWithKey signs statement with key in a v0.3 Sigstore bundle, as
// cosign v3 sign --key does (no log entry).
func BundleWithKey(statement []byte, key crypto.Signer) ([]byte, error) {
	s, err := signer(key)
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: s, Pub: key.Public()})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(context.Background(), inTotoPayloadType, statement)
	if err != nil {
		return nil, err
	}
	return marshalBundle(env, &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "cosign.pub"}}})
}

// Bundle signs statement keyless as subject from OCI issuer in a v0.3
// Sigstore bundle, as cosign v3 sign does: the certificate, a Rekor entry
// with its inclusion proof and promise, and a timestamp of the signature
// from the timestamp authority.
func (s *Sigstore) Bundle(statement []byte, subject, issuer string, o SignOptions) ([]byte, error) {
	// The virtual Sigstore's log proves inclusion, as a v0.3 bundle needs;
	// its certificates are valid ten minutes from now.
	logTime := time.Now()
	if o.Expired {
		logTime = logTime.Add(30 * time.Minute)
	}
	e, err := s.vs.AttestAtTime(subject, issuer, statement, logTime, true)
	if err != nil {
		return nil, err
	}
	vc, err := e.VerificationContent()
	if err != nil {
		return nil, err
	}
	sc, err := e.SignatureContent()
	if err != nil {
		return nil, err
	}
	vm := &protobundle.VerificationMaterial{
		Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
		TimestampVerificationData: &protobundle.TimestampVerificationData{},
	}
	if !o.NoLog {
		entries, err := e.TlogEntries()
		if err != nil || len(entries) != 1 {
			return nil, errors.New("the test log made no entry")
		}
		tle := entries[0].TransparencyLogEntry()
		var kind struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(tle.GetCanonicalizedBody(), &kind); err != nil {
			return nil, err
		}
		tle.KindVersion = &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion}
		set, err := s.vs.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
			IntegratedTime: tle.GetIntegratedTime(), LogIndex: tle.GetLogIndex(), LogID: hex.EncodeToString(tle.GetLogId().GetKeyId())})
		if err != nil {
			return nil, err
		}
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	}
	if !o.NoTimestamp {
		ts, err := Timestamp(s.tsa.URL(), sc.Signature())
		if err != nil {
			return nil, err
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}}
	}
	return marshalBundle(sc.EnvelopeContent().RawEnvelope(), vm)
}

// marshalBundle is the JSON of a v0.3 bundle of env and vm.
func marshalBundle(env *dsse.Envelope, vm *protobundle.VerificationMaterial) ([]byte, error) {
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, err
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, sig := range env.Signatures {
		raw, err := base64.StdEncoding.DecodeString(sig.Sig)
		if err != nil {
			return nil, err
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: raw, Keyid: sig.KeyID})
	}
	return protojson.Marshal(&protobundle.Bundle{MediaType: cosign.BundleMediaType, VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe}})
}

// PushBundle stores bundle as cosign v3 does: an OCI artifact of type
// cosign.BundleMediaType whose subject is digest in repo, annotated with
// its predicate type.
func PushBundle(repo name.Repository, digest string, bundle []byte, predicateType string, opts ...remote.Option) error {
	subject, err := remote.Head(repo.Digest(digest), opts...)
	if err != nil {
		return err
	}
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(bundle, cosign.BundleMediaType)
	var descs []v1.Descriptor
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return err
		}
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		mt, err := l.MediaType()
		if err != nil {
			return err
		}
		descs = append(descs, v1.Descriptor{MediaType: mt, Digest: d, Size: size})
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: cosign.BundleMediaType,
		Config: descs[0], Layers: descs[1:],
		Subject:     &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{cosign.BundlePredicateTypeAnnotation: predicateType}}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	raw := rawManifest{data: data}
	d, _, err := v1.SHA256(strings.NewReader(string(data)))
	if err != nil {
		return err
	}
	return remote.Put(repo.Digest(d.String()), raw, opts...)
}

// rawManifest is a manifest pushed as its bytes.
type rawManifest struct{ data []byte }

func (r rawManifest) RawManifest() ([]byte, error)        { return r.data, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
