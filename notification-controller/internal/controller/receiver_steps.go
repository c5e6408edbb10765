package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/notification-controller/internal/resourceref"
	"gotk.dev/notification-controller/internal/webhook"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// tokenRetry is how long a Receiver waits for a missing Secret or token;
// the Secret watch usually wakes it sooner.
const tokenRetry = 30 * time.Second

// validate stalls on a spec that cannot work: an unsupported type, no
// secretRef (every type but generic-oidc), CEL filters or OIDC checks that
// do not compile, resources naming no known apiVersion, or other
// namespaces when cross-namespace references are off.
func (r *ReceiverReconciler) validate(_ context.Context, obj *notificationv1.Receiver) error {
	if !webhook.Supported(obj.Spec.Type) {
		return reconcile.Stall(notificationv1.ValidationFailedReason, "receiver type %q is not supported yet", obj.Spec.Type)
	}
	oidc := obj.Spec.Type == notificationv1.GenericOIDCReceiver
	if !oidc && (obj.Spec.SecretRef == nil || obj.Spec.SecretRef.Name == "") {
		return reconcile.Stall(notificationv1.ValidationFailedReason, "spec.secretRef is required for type %q", obj.Spec.Type)
	}
	if oidc && len(obj.Spec.OIDCProviders) == 0 {
		return reconcile.Stall(notificationv1.ValidationFailedReason, "spec.oidcProviders is required for type %q", obj.Spec.Type)
	}
	if err := webhook.CheckOIDCProviders(obj.Spec.OIDCProviders); err != nil {
		return reconcile.Stall(notificationv1.ValidationFailedReason, "%s", err.Error())
	}
	if obj.Spec.ResourceFilter != "" {
		if err := webhook.CheckFilter("spec.resourceFilter", obj.Spec.ResourceFilter); err != nil {
			return reconcile.Stall(notificationv1.ValidationFailedReason, "%s", err.Error())
		}
	}
	if len(obj.Spec.Resources) == 0 {
		return reconcile.Stall(notificationv1.ValidationFailedReason, "spec.resources is empty")
	}
	for i, res := range obj.Spec.Resources {
		if res.Filter != "" {
			if err := webhook.CheckFilter(fmt.Sprintf("spec.resources[%d].filter", i), res.Filter); err != nil {
				return reconcile.Stall(notificationv1.ValidationFailedReason, "%s", err.Error())
			}
		}
		if _, err := resourceref.ResourceGVK(res); err != nil {
			return reconcile.Stall(notificationv1.ValidationFailedReason, "spec.resources[%d]: %s", i, err.Error())
		}
		if err := reconcile.CrossNamespaceRef(r.NoCrossNamespaceRefs, obj.Namespace,
			fmt.Sprintf("spec.resources[%d]", i), res.Kind, res.Namespace, res.Name); err != nil {
			return err
		}
	}
	return nil
}

// readToken reads the `token` key of spec.secretRef (and for gcr checks
// `email` and `audience`); a missing Secret or key waits, since creating
// it is the expected fix. generic-oidc has no token.
func (r *ReceiverReconciler) readToken(ctx context.Context, obj *notificationv1.Receiver) (string, error) {
	if obj.Spec.Type == notificationv1.GenericOIDCReceiver {
		return "", nil
	}
	name := obj.Spec.SecretRef.Name
	sec := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			return "", reconcile.Wait(tokenRetry, notificationv1.TokenNotFoundReason, "secret %q not found", name)
		}
		return "", reconcile.Retry(notificationv1.TokenNotFoundReason, "reading secret %q: %s", name, apierrors.ReasonForError(err))
	}
	tok := sec.Data["token"]
	if len(tok) == 0 {
		return "", reconcile.Wait(tokenRetry, notificationv1.TokenNotFoundReason, "secret %q has no `token` key", name)
	}
	if obj.Spec.Type == notificationv1.GCRReceiver {
		for _, k := range []string{"email", "audience"} {
			if len(sec.Data[k]) == 0 {
				return "", reconcile.Wait(tokenRetry, notificationv1.TokenNotFoundReason,
					"secret %q has no `%s` key (gcr checks the Pub/Sub token's email and audience)", name, k)
			}
		}
	}
	return string(tok), nil
}

// publishPath sets status.webhookPath from the token and gives Ready's
// message.
func publishPath(obj *notificationv1.Receiver, token string) (string, string, error) {
	obj.Status.WebhookPath = obj.GetWebhookPath(token)
	return meta.SucceededReason, fmt.Sprintf("Receiver initialised for path: %s", obj.Status.WebhookPath), nil
}
