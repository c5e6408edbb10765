package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/notification-controller/internal/notifier"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
	"gotk.dev/pkg/runtime/reconcile"
)

// dispatch sends the event to every Alert that selects it.
func (s *EventServer) dispatch(ctx context.Context, ev *eventv1.Event) {
	log := s.Log.WithValues("kind", ev.InvolvedObject.Kind, "name", ev.InvolvedObject.Name, "namespace", ev.InvolvedObject.Namespace)
	var alerts notificationv1.AlertList
	var opts []client.ListOption
	if s.NoCrossNamespaceRefs {
		opts = append(opts, client.InNamespace(ev.InvolvedObject.Namespace))
	}
	if err := s.Client.List(ctx, &alerts, opts...); err != nil {
		log.Error(err, "listing Alerts failed; the event is dropped")
		return
	}
	var labels map[string]string
	labelsRead := false
	for i := range alerts.Items {
		alert := &alerts.Items[i]
		if alert.IsSuspended() || !severityMatches(alert, ev) {
			continue
		}
		ok, err := s.selects(ctx, alert, ev, &labels, &labelsRead)
		if err != nil {
			s.warn(alert, notificationv1.SourceFetchFailedReason, "%s", err.Error())
			continue
		}
		if !ok {
			continue
		}
		allowed, err := s.regexes.messageAllowed(alert, ev.Message)
		if err != nil {
			s.warn(alert, notificationv1.InvalidConfigReason, "%s", err.Error())
			continue
		}
		if !allowed {
			log.V(1).Info("event filtered out by the Alert's inclusion/exclusion lists", "alert", alert.Name)
			continue
		}
		s.notify(ctx, alert, enrich(alert, ev))
	}
}

// selects reports whether one of the Alert's eventSources matches; the
// involved object's labels are read at most once per event, and only when
// a source needs them.
func (s *EventServer) selects(ctx context.Context, alert *notificationv1.Alert, ev *eventv1.Event,
	labels *map[string]string, labelsRead *bool) (bool, error) {
	for _, src := range alert.Spec.EventSources {
		switch matchSource(src, alert.Namespace, ev, s.NoCrossNamespaceRefs) {
		case matched:
			return true, nil
		case crossNamespace:
			s.Log.V(1).Info("event source in another namespace ignored: cross-namespace references are disabled",
				"alert", client.ObjectKeyFromObject(alert).String())
		case needsLabels:
			if !*labelsRead {
				l, err := s.objectLabels(ctx, ev)
				if err != nil {
					return false, err
				}
				*labels, *labelsRead = l, true
			}
			if labelsMatch(src.MatchLabels, *labels) {
				return true, nil
			}
		}
	}
	return false, nil
}

// objectLabels reads the involved object's labels (metadata only).
func (s *EventServer) objectLabels(ctx context.Context, ev *eventv1.Event) (map[string]string, error) {
	o := ev.InvolvedObject
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("event for %s/%s: apiVersion %q is invalid", o.Kind, o.Name, o.APIVersion)
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gv.WithKind(o.Kind))
	if err := s.APIReader.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, obj); err != nil {
		return nil, fmt.Errorf("reading %s %s/%s to match labels: %s", o.Kind, o.Namespace, o.Name, reasonOf(err))
	}
	return obj.GetLabels(), nil
}

// notify sends the event through the Alert's Provider and reports failures
// on the Alert.
func (s *EventServer) notify(ctx context.Context, alert *notificationv1.Alert, ev *eventv1.Event) {
	provider := &notificationv1.Provider{}
	key := client.ObjectKey{Namespace: alert.Namespace, Name: alert.Spec.ProviderRef.Name}
	if err := s.Client.Get(ctx, key, provider); err != nil {
		s.warn(alert, notificationv1.InvalidConfigReason, "provider %s: %s", key.Name, reasonOf(err))
		return
	}
	if provider.IsSuspended() {
		return
	}
	if provider.Spec.CommitStatusExpr != "" {
		// A status under another identifier than the one asked for would
		// leave stale statuses on the commit, so a failing expression sends nothing.
		id, err := commitStatusID(provider, alert, ev)
		if err != nil {
			deliveriesTotal.WithLabelValues(provider.Spec.Type, "failure").Inc()
			s.warn(alert, notificationv1.InvalidConfigReason, "provider %s: %s", provider.Name, err.Error())
			return
		}
		ctx = notifier.WithCommitStatusID(ctx, id)
	}
	if notifier.IsCommitStatus(provider.Spec.Type) && ev.Severity == eventv1.EventSeverityInfo &&
		!ev.HasMetadata(eventv1.MetaCommitStatusKey, eventv1.MetaCommitStatusUpdateValue) {
		// Commit statuses take failures and the success of a finished apply,
		// not every progress event.
		return
	}
	cacheKey := string(provider.UID) + "/" + provider.ResourceVersion
	n, err := s.notifiers.get(cacheKey, func() (notifier.Notifier, error) {
		cfg, err := resolveConfig(ctx, s.APIReader, provider, s.Retry)
		if err != nil {
			return nil, err
		}
		if err := s.withCloudIdentity(ctx, provider, &cfg); err != nil {
			return nil, err
		}
		return notifier.New(cfg)
	})
	if err != nil {
		result := "failure"
		if errors.Is(err, notifier.ErrNotSupported) {
			result = "unsupported"
		}
		deliveriesTotal.WithLabelValues(provider.Spec.Type, result).Inc()
		// A refused workload identity says why (FeatureGateDisabled,
		// AuthenticationFailed); everything else is InvalidConfig.
		reason := reconcile.Classify(err, notificationv1.InvalidConfigReason).Reason
		s.warn(alert, reason, "provider %s: %s", provider.Name, err.Error())
		return
	}
	// Bound the whole delivery, retries included.
	ctx, cancel := context.WithTimeout(ctx, 4*provider.GetTimeout()+10*time.Second)
	defer cancel()
	if err := n.Post(ctx, ev); err != nil {
		deliveriesTotal.WithLabelValues(provider.Spec.Type, "failure").Inc()
		s.warn(alert, notificationv1.NotificationDispatchFailedReason,
			"failed to send the %s event of %s/%s to provider %s (%s): %s",
			ev.Reason, ev.InvolvedObject.Kind, ev.InvolvedObject.Name, provider.Name, provider.Spec.Type, err.Error())
		return
	}
	deliveriesTotal.WithLabelValues(provider.Spec.Type, "success").Inc()
}

// warn records a warning event on the Alert and logs it.
func (s *EventServer) warn(alert *notificationv1.Alert, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.Log.Info("alert problem", "alert", client.ObjectKeyFromObject(alert).String(), "reason", reason, "message", msg)
	if s.Recorder != nil {
		s.Recorder.Eventf(alert, nil, corev1.EventTypeWarning, reason, "Notify", "%s", msg)
	}
}
