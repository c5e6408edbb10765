package controller

import (
	"context"
	"crypto/tls"
	"net/url"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/bucket"
)

// bucketTransport reads what every provider's client sends its requests
// with: the CA and client certificate of spec.certSecretRef and the proxy
// of spec.proxySecretRef (nil when unset). A certSecretRef Secret with
// none of the TLS keys is refused, as Flux refuses it, rather than
// ignored.
func (r *BucketReconciler) bucketTransport(ctx context.Context, obj *sourcev1.Bucket) (*tls.Config, *url.URL, error) {
	var cfg *tls.Config
	if ref := obj.Spec.CertSecretRef; ref != nil {
		c, err := tlsFromSecret(ctx, r.Client, obj.Namespace, ref.Name)
		if err != nil {
			return nil, nil, err
		}
		if c == nil {
			return nil, nil, reconcile.Stall(sourcev1.AuthenticationFailedReason,
				"secret '%s' of spec.certSecretRef holds none of 'ca.crt', 'tls.crt' and 'tls.key'", ref.Name)
		}
		cfg = c
	}
	var proxy *url.URL
	if ref := obj.Spec.ProxySecretRef; ref != nil {
		data, err := readSecret(ctx, r.Client, obj.Namespace, ref.Name)
		if err != nil {
			return nil, nil, err
		}
		if proxy, err = git.ProxyURL(data); err != nil {
			return nil, nil, reconcile.Stall(sourcev1.AuthenticationFailedReason, "proxy secret '%s': %v", ref.Name, err)
		}
	}
	return cfg, proxy, nil
}

// cloudTransport is bucketTransport for the gcp and azure providers,
// whose endpoint may be a URL: one naming plain HTTP needs spec.insecure
// (Flux denies HTTP unless it is set).
func (r *BucketReconciler) cloudTransport(ctx context.Context, obj *sourcev1.Bucket) (*tls.Config, *url.URL, error) {
	if err := bucket.CheckScheme(obj.Spec.Endpoint, obj.Spec.Insecure); err != nil {
		return nil, nil, reconcile.Stall(sourcev1.URLInvalidReason, "provider %s: %v", obj.Spec.Provider, err)
	}
	return r.bucketTransport(ctx, obj)
}
