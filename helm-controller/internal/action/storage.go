package action

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	helmreleasei "helm.sh/helm/v4/pkg/release"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// releaseSecrets is Helm's Secret storage driver writing the same Secrets
// (name, type, labels, base64 of gzipped JSON at best compression), with
// the gzip writers reused: Helm makes a new one per write, about 1 MB of
// compressor state, twice per install, which was the largest allocation
// of the controller running many releases. Reads and deletes are Helm's.
type releaseSecrets struct {
	*driver.Secrets
	impl corev1client.SecretInterface
}

var _ driver.Driver = (*releaseSecrets)(nil)

func newReleaseSecrets(impl corev1client.SecretInterface, log slog.Handler) *releaseSecrets {
	d := driver.NewSecrets(impl)
	d.SetLogger(log)
	return &releaseSecrets{Secrets: d, impl: impl}
}

// Create implements driver.Driver as Helm's Secrets driver does.
func (s *releaseSecrets) Create(key string, r helmreleasei.Releaser) error {
	rls, err := v1Release(r)
	if err != nil {
		return err
	}
	obj, err := releaseSecret(key, rls, "createdAt")
	if err != nil {
		return fmt.Errorf("create: failed to encode release %q: %w", rls.Name, err)
	}
	if _, err := s.impl.Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return driver.ErrReleaseExists
		}
		return fmt.Errorf("create: failed to create: %w", err)
	}
	return nil
}

// Update implements driver.Driver as Helm's Secrets driver does.
func (s *releaseSecrets) Update(key string, r helmreleasei.Releaser) error {
	rls, err := v1Release(r)
	if err != nil {
		return err
	}
	obj, err := releaseSecret(key, rls, "modifiedAt")
	if err != nil {
		return fmt.Errorf("update: failed to encode release %q: %w", rls.Name, err)
	}
	if _, err := s.impl.Update(context.Background(), obj, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update: failed to update: %w", err)
	}
	return nil
}

// releaseSecret is the Secret of rls with Helm's labels, stamped now
// under timeLabel.
func releaseSecret(key string, rls *release.Release, timeLabel string) (*corev1.Secret, error) {
	data, err := encodeRelease(rls)
	if err != nil {
		return nil, err
	}
	lbs := make(map[string]string, len(rls.Labels)+5)
	for k, v := range rls.Labels {
		lbs[k] = v
	}
	lbs[timeLabel] = strconv.FormatInt(time.Now().Unix(), 10)
	lbs["name"] = rls.Name
	lbs["owner"] = "helm"
	lbs["status"] = rls.Info.Status.String()
	lbs["version"] = strconv.Itoa(rls.Version)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key, Labels: lbs},
		Type:       "helm.sh/release.v1",
		Data:       map[string][]byte{"release": data},
	}, nil
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression) // a valid constant level
	return w
}}

// encodeRelease is Helm's release encoding: base64 of gzipped JSON.
func encodeRelease(rls *release.Release) ([]byte, error) {
	b, err := json.Marshal(rls)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(buf.Len()))
	base64.StdEncoding.Encode(out, buf.Bytes())
	return out, nil
}
