package server

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// eventsTotal counts ingested events by result: accepted, duplicate, invalid.
	eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gotk_notification_events_total",
		Help: "Events received on the ingest endpoint, by result.",
	}, []string{"result"})
	// deliveriesTotal counts notifications by provider type and result:
	// success, failure, unsupported.
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gotk_notification_deliveries_total",
		Help: "Notifications sent to Providers, by provider type and result.",
	}, []string{"provider_type", "result"})
	// webhooksTotal counts Receiver requests by HTTP status code.
	webhooksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gotk_receiver_requests_total",
		Help: "Webhook requests handled by Receivers, by status code.",
	}, []string{"code"})

	registerOnce sync.Once
)

func registerMetrics() {
	registerOnce.Do(func() {
		metrics.Registry.MustRegister(eventsTotal, deliveriesTotal, webhooksTotal)
	})
}
