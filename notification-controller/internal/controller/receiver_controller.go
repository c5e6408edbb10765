// Package controller holds notification-controller's reconciler: the
// Receiver, which publishes its webhook path. Alerts and Providers have no
// status (as in Flux); the event server reads them directly.
package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// secretRefIndex indexes Receivers by the Secret they read, so a changed
// token re-publishes the path at once.
const secretRefIndex = ".spec.secretRef.name"

// ReceiverReconciler validates a Receiver, reads its token and publishes
// status.webhookPath; the webhook server serves only Ready Receivers.
type ReceiverReconciler struct {
	// APIReader reads Secrets uncached.
	APIReader client.Reader
	// NoCrossNamespaceRefs refuses resources in other namespaces.
	NoCrossNamespaceRefs bool
}

// ReceiverOptions configures SetupWithManager.
type ReceiverOptions struct {
	// ControllerName is the field owner and event source.
	ControllerName string
	// Events records events on Receivers.
	Events events.EventRecorder
	// ControllerOptions are the concurrency and retry backoff.
	reconcile.ControllerOptions
}

// SetupWithManager registers the reconciler (through the shared skeleton)
// and a metadata-only watch on Secrets.
func (r *ReceiverReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, o ReceiverOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &notificationv1.Receiver{}, secretRefIndex, func(obj client.Object) []string {
		rcv, ok := obj.(*notificationv1.Receiver)
		if !ok || rcv.Spec.SecretRef == nil {
			return nil
		}
		return []string{rcv.Spec.SecretRef.Name}
	}); err != nil {
		return err
	}
	skeleton := &reconcile.Reconciler[*notificationv1.Receiver]{
		Client:         mgr.GetClient(),
		Events:         o.Events,
		ControllerName: o.ControllerName,
		NewObject:      func() *notificationv1.Receiver { return &notificationv1.Receiver{} },
		Kind:           r,
	}
	return skeleton.SetupWithManager(mgr, o.ControllerOptions,
		reconcile.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.receiversForSecret(mgr.GetClient()))))
}

func (r *ReceiverReconciler) receiversForSecret(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, secret client.Object) []ctrlreconcile.Request {
		var list notificationv1.ReceiverList
		if err := c.List(ctx, &list, client.InNamespace(secret.GetNamespace()),
			client.MatchingFields{secretRefIndex: secret.GetName()}); err != nil {
			return nil
		}
		reqs := make([]ctrlreconcile.Request, 0, len(list.Items))
		for _, rcv := range list.Items {
			reqs = append(reqs, ctrlreconcile.Request{NamespacedName: client.ObjectKeyFromObject(&rcv)})
		}
		return reqs
	}
}

// Reconcile runs the Receiver's steps; see receiver_steps.go.
func (r *ReceiverReconciler) Reconcile(ctx context.Context, obj *notificationv1.Receiver) (string, string, error) {
	var token string
	err := reconcile.RunSteps(ctx, obj,
		reconcile.Step[*notificationv1.Receiver]{Name: "validate", Run: r.validate},
		reconcile.Step[*notificationv1.Receiver]{Name: "token", Run: func(ctx context.Context, obj *notificationv1.Receiver) error {
			var err error
			token, err = r.readToken(ctx, obj)
			return err
		}},
	)
	if err != nil {
		return "", "", err
	}
	return publishPath(obj, token)
}

// Finalize has nothing to release: the path disappears with the object.
func (r *ReceiverReconciler) Finalize(context.Context, *notificationv1.Receiver) error { return nil }
