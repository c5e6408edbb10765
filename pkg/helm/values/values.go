// Package values composes the values of a Helm release from a HelmRelease's
// valuesFrom references and inline values, and digests the result so an
// unchanged release can be recognised without asking Helm.
package values

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// DefaultValuesKey is the key read from a ConfigMap or Secret when a
// reference names none.
const DefaultValuesKey = "values.yaml"

// RefError is a reference that could not be resolved or parsed. Missing
// is true when the object or key does not exist. The message never holds
// the referenced content, since it may come from a Secret.
type RefError struct {
	Ref     meta.ValuesReference
	Missing bool
	Err     error
}

// Error names the reference and the cause.
func (e *RefError) Error() string {
	return fmt.Sprintf("values from %s/%s key %q: %v", e.Ref.Kind, e.Ref.Name, key(e.Ref), e.Err)
}

// Unwrap returns the cause.
func (e *RefError) Unwrap() error { return e.Err }

func key(ref meta.ValuesReference) string {
	if ref.ValuesKey == "" {
		return DefaultValuesKey
	}
	return ref.ValuesKey
}

// Compose reads every reference in namespace ns in order, merges each over
// the result so far (deeply: maps merge, anything else replaces), and
// finally merges inline over the result. Optional references that are
// missing are skipped.
func Compose(ctx context.Context, c client.Reader, ns string, refs []meta.ValuesReference, inline map[string]any) (map[string]any, error) {
	result := map[string]any{}
	for _, ref := range refs {
		raw, err := read(ctx, c, ns, ref)
		if err != nil {
			var re *RefError
			if ref.Optional && asRefError(err, &re) && re.Missing {
				continue
			}
			return nil, err
		}
		if ref.TargetPath != "" {
			if err := SetPath(result, ref.TargetPath, string(raw)); err != nil {
				return nil, &RefError{Ref: ref, Err: fmt.Errorf("targetPath: %w", err)}
			}
			continue
		}
		parsed := map[string]any{}
		if err := yaml.Unmarshal(raw, &parsed); err != nil {
			return nil, &RefError{Ref: ref, Err: fmt.Errorf("not valid YAML: %w", scrub(err))}
		}
		result = Merge(result, parsed)
	}
	return Merge(result, inline), nil
}

func asRefError(err error, target **RefError) bool {
	re, ok := err.(*RefError)
	if ok {
		*target = re
	}
	return ok
}

// read returns the referenced key's content.
func read(ctx context.Context, c client.Reader, ns string, ref meta.ValuesReference) ([]byte, error) {
	name := types.NamespacedName{Namespace: ns, Name: ref.Name}
	k := key(ref)
	switch ref.Kind {
	case "ConfigMap":
		var cm corev1.ConfigMap
		if err := c.Get(ctx, name, &cm); err != nil {
			return nil, &RefError{Ref: ref, Missing: apierrors.IsNotFound(err), Err: notFoundOr(err, "ConfigMap not found")}
		}
		if v, ok := cm.Data[k]; ok {
			return []byte(v), nil
		}
		if v, ok := cm.BinaryData[k]; ok {
			return v, nil
		}
		return nil, &RefError{Ref: ref, Missing: true, Err: fmt.Errorf("key not found in ConfigMap")}
	case "Secret":
		var s corev1.Secret
		if err := c.Get(ctx, name, &s); err != nil {
			return nil, &RefError{Ref: ref, Missing: apierrors.IsNotFound(err), Err: notFoundOr(err, "Secret not found")}
		}
		if v, ok := s.Data[k]; ok {
			return v, nil
		}
		return nil, &RefError{Ref: ref, Missing: true, Err: fmt.Errorf("key not found in Secret")}
	default:
		return nil, &RefError{Ref: ref, Err: fmt.Errorf("unsupported kind %q (want ConfigMap or Secret)", ref.Kind)}
	}
}

func notFoundOr(err error, msg string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s", msg)
	}
	return err
}

// scrub drops the position-quoting part of YAML errors that can echo the
// offending line, which may be secret; only the line number stays.
func scrub(err error) error {
	msg := err.Error()
	const max = 120
	if len(msg) > max {
		msg = msg[:max] + "…"
	}
	return fmt.Errorf("%s", msg)
}

// Merge merges src over dst deeply and returns dst (a new map when dst is
// nil): nested maps are merged key by key, any other value of src replaces
// the one in dst.
func Merge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if vm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = Merge(dm, vm)
				continue
			}
			dst[k] = Merge(nil, vm)
			continue
		}
		dst[k] = v
	}
	return dst
}

// Digest returns "sha256:<hex>" of the canonical JSON encoding of values
// (map keys sorted), so equal values always give the same digest. Nil
// and empty values digest alike.
func Digest(values map[string]any) string {
	if values == nil {
		values = map[string]any{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		// Values decoded from YAML or JSON always encode; fall back to the
		// printed form so a digest is still stable.
		b = []byte(fmt.Sprintf("%v", values))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
