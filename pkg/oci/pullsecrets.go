package oci

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ServiceAccountAuth returns the credentials for registryHost from the
// image pull secrets of a service account, as the kubelet (and Flux) use
// them: the first kubernetes.io/dockerconfigjson Secret with an entry for
// the host wins. It returns nil, nil when none has one. Errors name the
// objects, never secret values.
func ServiceAccountAuth(ctx context.Context, c client.Reader, namespace, serviceAccount, registryHost string) (authn.Authenticator, error) {
	var sa corev1.ServiceAccount
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: serviceAccount}, &sa); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("service account '%s' not found", serviceAccount)
		}
		return nil, fmt.Errorf("reading service account '%s': %s", serviceAccount, apierrors.ReasonForError(err))
	}
	for _, ref := range sa.ImagePullSecrets {
		var secret corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("image pull secret '%s' of service account '%s' not found", ref.Name, serviceAccount)
			}
			return nil, fmt.Errorf("reading image pull secret '%s': %s", ref.Name, apierrors.ReasonForError(err))
		}
		data, ok := secret.Data[corev1.DockerConfigJsonKey]
		if !ok {
			continue
		}
		auth, err := AuthFromDockerConfig(data, registryHost)
		if errors.Is(err, ErrNoCredentials) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("image pull secret '%s': %v", ref.Name, err)
		}
		return auth, nil
	}
	return nil, nil
}
