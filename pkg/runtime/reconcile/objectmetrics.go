package reconcile

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// objectMetrics exports Flux's per-object reconcile metrics (the names,
// labels, help texts and duration buckets of fluxcd/pkg/runtime/metrics)
// from a compact table: a few bytes of state per object, the samples made
// only while a scrape reads them. Flux's recorder keeps a labelled child
// per series, 9 condition gauges, a suspend gauge and a 10-bucket
// histogram per object: about 10 KB each, the largest part of a
// controller's heap at thousands of objects.
type objectMetrics struct {
	condition, suspend, duration *prometheus.Desc
	buckets                      []float64

	mu      sync.Mutex
	objects map[objectKey]*objectSeries
}

// objectKey names a measured object.
type objectKey struct{ kind, namespace, name string }

// objectSeries is the state of one object's series.
type objectSeries struct {
	// conditions holds, per MeasuredConditions type, the status index
	// (see conditionStatuses) plus one; 0 is not recorded.
	conditions [len(MeasuredConditions)]uint8
	suspended  bool
	// suspendSet says the suspend gauge was recorded.
	suspendSet bool
	// counts are the non-cumulative bucket counts of the durations
	// (the last one: above every bucket); sum and count as Prometheus's.
	counts []uint64
	count  uint64
	sum    float64
}

// conditionStatuses are the status label values of each condition type's
// three gauges, in Flux's order.
var conditionStatuses = [...]metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

func newObjectMetrics() *objectMetrics {
	return &objectMetrics{
		condition: prometheus.NewDesc(MetricReconcileCondition,
			"The current condition status of a GitOps Toolkit resource reconciliation.",
			[]string{"kind", "name", "namespace", "type", "status"}, nil),
		suspend: prometheus.NewDesc(MetricSuspendStatus,
			"The current suspend status of a GitOps Toolkit resource.",
			[]string{"kind", "name", "namespace"}, nil),
		duration: prometheus.NewDesc(MetricReconcileDuration,
			"The duration in seconds of a GitOps Toolkit resource reconciliation.",
			[]string{"kind", "name", "namespace"}, nil),
		buckets: prometheus.ExponentialBucketsRange(10e-3, 1800, 10),
		objects: map[objectKey]*objectSeries{},
	}
}

// series returns ref's state, made on first use; the caller holds mu.
func (m *objectMetrics) series(k objectKey) *objectSeries {
	s, ok := m.objects[k]
	if !ok {
		s = &objectSeries{counts: make([]uint64, len(m.buckets)+1)}
		m.objects[k] = s
	}
	return s
}

// record sets an object's suspend gauge and condition statuses (in
// MeasuredConditions order) and observes a reconcile's duration.
func (m *objectMetrics) record(k objectKey, suspended bool, statuses []metav1.ConditionStatus, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.series(k)
	s.suspended, s.suspendSet = suspended, true
	for i, st := range statuses {
		s.conditions[i] = 0
		for j, known := range conditionStatuses {
			if st == known {
				s.conditions[i] = uint8(j + 1)
			}
		}
	}
	secs := took.Seconds()
	i := 0
	for i < len(m.buckets) && secs > m.buckets[i] {
		i++
	}
	s.counts[i]++
	s.count++
	s.sum += secs
}

// forget drops every series of an object.
func (m *objectMetrics) forget(k objectKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, k)
}

// Describe implements prometheus.Collector.
func (m *objectMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.condition
	ch <- m.suspend
	ch <- m.duration
}

// Collect implements prometheus.Collector: the samples of every object.
func (m *objectMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.objects {
		for i, t := range MeasuredConditions {
			if s.conditions[i] == 0 {
				continue
			}
			for j, st := range conditionStatuses {
				v := 0.0
				if int(s.conditions[i]) == j+1 {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(m.condition, prometheus.GaugeValue, v, k.kind, k.name, k.namespace, t, string(st))
			}
		}
		if s.suspendSet {
			v := 0.0
			if s.suspended {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(m.suspend, prometheus.GaugeValue, v, k.kind, k.name, k.namespace)
		}
		if s.count > 0 {
			cumulative := make(map[float64]uint64, len(m.buckets))
			var n uint64
			for i, upper := range m.buckets {
				n += s.counts[i]
				cumulative[upper] = n
			}
			ch <- prometheus.MustNewConstHistogram(m.duration, s.count, s.sum, cumulative, k.kind, k.name, k.namespace)
		}
	}
}
