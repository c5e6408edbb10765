package controller

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/runtime/reconcile"
)

// readSecret returns a Secret's data; a missing Secret is a transient
// AuthenticationFailed (it may be created later) naming the Secret.
func readSecret(ctx context.Context, c client.Client, ns, name string) (map[string][]byte, error) {
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "secret '%s' not found", name)
		}
		return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "reading secret '%s': %v", name, err)
	}
	return secret.Data, nil
}

// tlsFromSecret builds a client TLS config from ca.crt / tls.crt / tls.key.
func tlsFromSecret(ctx context.Context, c client.Client, ns, name string) (*tls.Config, error) {
	data, err := readSecret(ctx, c, ns, name)
	if err != nil {
		return nil, err
	}
	cfg, err := oci.TLSConfig(data["ca.crt"], data["tls.crt"], data["tls.key"])
	if err != nil {
		return nil, reconcile.Stall(sourcev1.AuthenticationFailedReason, "secret '%s': %v", name, err)
	}
	return cfg, nil
}

// markFetchFailed sets FetchFailed from err's reason and message and
// returns err, so a step can `return markFetchFailed(obj, err)`.
func markFetchFailed(obj conditions.Setter, err error) error {
	e := reconcile.Classify(err, sourcev1.ReadOperationFailedReason)
	conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, e.Reason, "%s", e.Error())
	return err
}

// markStorageFailed sets StorageOperationFailed and returns a transient error.
func markStorageFailed(obj conditions.Setter, reason string, err error) error {
	conditions.MarkTrue(obj, sourcev1.StorageOperationFailedCondition, reason, "%v", err)
	return reconcile.Retry(reason, "%v", err)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// removeArtifacts deletes every stored artifact of the object that owns
// art (its storage directory); nothing to do when it never had one.
func removeArtifacts(storage *artifact.Storage, art *meta.Artifact) error {
	if art == nil {
		return nil
	}
	if _, err := storage.RemoveAll(*art); err != nil {
		return reconcile.Retry(sourcev1.StorageOperationFailedCondition, "removing artifacts: %v", err)
	}
	return nil
}

// forgetLostArtifact clears *art when its file has gone from storage
// (e.g. the storage volume was lost), so the next steps store it again.
func forgetLostArtifact(storage *artifact.Storage, art **meta.Artifact) {
	if *art != nil && !storage.ArtifactExist(**art) {
		*art = nil
	}
}

// collectGarbage removes the superseded artifacts of art's object beyond
// the retention; a failure is StorageOperationFailed.
func collectGarbage(ctx context.Context, storage *artifact.Storage, obj conditions.Setter, art meta.Artifact) error {
	if _, err := storage.GarbageCollect(ctx, art, 5e9); err != nil {
		return markStorageFailed(obj, sourcev1.ArchiveOperationFailedReason, fmt.Errorf("garbage collection: %w", err))
	}
	return nil
}
