// Package cosign verifies cosign signatures of OCI artifacts made with a
// key pair: the signature image at tag sha256-<hex>.sig next to the
// artifact, whose simple-signing layers carry a payload naming the
// artifact's manifest digest and, in an annotation, an ECDSA signature of
// that payload. Transparency-log entries and keyless certificates are not
// checked.
package cosign

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gotk.dev/pkg/oci"
)

// The cosign signature format.
const (
	// SimpleSigningMediaType is the media type of a signature layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds the base64 signature of the layer's payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// PayloadType is the critical.type of a container image signature.
	PayloadType = "cosign container image signature"
	// maxPayloadBytes bounds a signature payload read from a registry.
	maxPayloadBytes = 1 << 20
)

// Key is a trusted public key and the Secret key it came from.
type Key struct {
	Name string
	Key  *ecdsa.PublicKey
}

// PublicKeys reads the PEM ECDSA public keys of a Secret's *.pub keys.
func PublicKeys(data map[string][]byte) ([]Key, error) {
	var keys []Key
	for name, value := range data {
		if !strings.HasSuffix(name, ".pub") {
			continue
		}
		k, err := ParsePublicKey(value)
		if err != nil {
			return nil, fmt.Errorf("key '%s': %w", name, err)
		}
		keys = append(keys, Key{Name: name, Key: k})
	}
	if len(keys) == 0 {
		return nil, errors.New("no *.pub public key")
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys, nil
}

// ParsePublicKey reads one PEM "PUBLIC KEY" (PKIX) ECDSA key.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not a PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T keys are not supported (want ECDSA)", pub)
	}
	return k, nil
}

// SignatureTag is the tag cosign stores the signatures of digest under.
func SignatureTag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".sig"
}

// payload is cosign's simple-signing payload.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// ErrNoSignature means the artifact has no signature image.
var ErrNoSignature = errors.New("no signature found")

// Verify checks that a signature of the manifest digest in repo, at its
// signature tag, verifies with one of keys and names that digest. It
// returns the name of the key that verified it.
func Verify(ctx context.Context, repo name.Repository, digest string, keys []Key, o oci.Options) (string, error) {
	tag := SignatureTag(digest)
	img, err := oci.Image(ctx, repo.Tag(tag), o)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return "", fmt.Errorf("%w for '%s': no tag '%s' in %s", ErrNoSignature, digest, tag, repo.Name())
		}
		return "", err
	}
	manifest, err := img.Manifest()
	if err != nil {
		return "", fmt.Errorf("reading the signature manifest %s:%s: %w", repo.Name(), tag, err)
	}
	var problems []string
	for _, layer := range manifest.Layers {
		if string(layer.MediaType) != SimpleSigningMediaType {
			continue
		}
		keyName, err := verifyLayer(img, layer, digest, keys)
		if err == nil {
			return keyName, nil
		}
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return "", fmt.Errorf("%w for '%s': %s:%s has no %s layer", ErrNoSignature, digest, repo.Name(), tag, SimpleSigningMediaType)
	}
	return "", fmt.Errorf("no valid signature for '%s' in %s:%s: %s", digest, repo.Name(), tag, strings.Join(problems, "; "))
}

// verifyLayer checks one signature: its payload must name digest and its
// signature verify with one of keys.
func verifyLayer(img v1.Image, desc v1.Descriptor, digest string, keys []Key) (string, error) {
	sig, err := base64.StdEncoding.DecodeString(desc.Annotations[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return "", fmt.Errorf("layer %s has no base64 %s annotation", desc.Digest, SignatureAnnotation)
	}
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return "", err
	}
	rc, err := layer.Compressed() // the payload as stored, its digest checked on read
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxPayloadBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading payload %s: %w", desc.Digest, err)
	}
	if len(data) > maxPayloadBytes {
		return "", fmt.Errorf("payload %s is over %d bytes", desc.Digest, maxPayloadBytes)
	}
	sum := sha256.Sum256(data)
	signedBy := ""
	for _, k := range keys {
		if ecdsa.VerifyASN1(k.Key, sum[:], sig) {
			signedBy = k.Name
			break
		}
	}
	if signedBy == "" {
		return "", fmt.Errorf("the signature does not verify with any trusted key")
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		return "", fmt.Errorf("payload signed by '%s' is not a simple-signing payload: %v", signedBy, err)
	}
	if p.Critical.Type != PayloadType {
		return "", fmt.Errorf("payload signed by '%s' has type %q, want %q", signedBy, p.Critical.Type, PayloadType)
	}
	if p.Critical.Image.DockerManifestDigest != digest {
		return "", fmt.Errorf("payload signed by '%s' is for digest '%s'", signedBy, p.Critical.Image.DockerManifestDigest)
	}
	return signedBy, nil
}

// SignatureImage signs digest (an artifact of repo) with key as cosign
// does and returns the signature image to push at SignatureTag(digest).
func SignatureImage(repo name.Repository, digest string, key *ecdsa.PrivateKey) (v1.Image, error) {
	var p payload
	p.Critical.Identity.DockerReference = repo.Name()
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = PayloadType
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	return mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(data, SimpleSigningMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
}
