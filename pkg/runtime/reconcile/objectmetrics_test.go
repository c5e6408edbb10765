package reconcile

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestObjectMetrics checks the samples of the compact per-object table:
// Flux's families, one set per object, the current condition status at 1,
// durations in cumulative buckets, and nothing left after forget.
func TestObjectMetrics(t *testing.T) {
	a := objectKey{kind: "Kustomization", namespace: "ns", name: "a"}
	b := objectKey{kind: "Kustomization", namespace: "ns", name: "b"}
	steps := []struct {
		name   string
		do     func(m *objectMetrics)
		series map[string]int // family -> samples
		check  func(t *testing.T, fams map[string]*dto.MetricFamily)
	}{
		{
			name:   "nothing recorded",
			do:     func(*objectMetrics) {},
			series: map[string]int{},
		},
		{
			name: "one reconcile of a",
			do: func(m *objectMetrics) {
				m.record(a, false, []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionUnknown, metav1.ConditionUnknown}, 20*time.Millisecond)
			},
			series: map[string]int{MetricReconcileCondition: 9, MetricSuspendStatus: 1, MetricReconcileDuration: 1},
			check: func(t *testing.T, fams map[string]*dto.MetricFamily) {
				if got := gaugeOf(fams[MetricReconcileCondition], "a", "Ready", "True"); got != 1 {
					t.Errorf("Ready=True gauge %v, want 1", got)
				}
				if got := gaugeOf(fams[MetricReconcileCondition], "a", "Ready", "False"); got != 0 {
					t.Errorf("Ready=False gauge %v, want 0", got)
				}
				h := fams[MetricReconcileDuration].GetMetric()[0].GetHistogram()
				if h.GetSampleCount() != 1 || h.GetBucket()[0].GetCumulativeCount() != 0 || h.GetBucket()[1].GetCumulativeCount() != 1 {
					t.Errorf("histogram %v, want one sample in the second bucket", h)
				}
			},
		},
		{
			name: "b suspended and failing, a again",
			do: func(m *objectMetrics) {
				m.record(b, true, []metav1.ConditionStatus{metav1.ConditionFalse, metav1.ConditionUnknown, metav1.ConditionTrue}, time.Hour)
				m.record(a, false, []metav1.ConditionStatus{metav1.ConditionFalse, metav1.ConditionUnknown, metav1.ConditionUnknown}, time.Millisecond)
			},
			series: map[string]int{MetricReconcileCondition: 18, MetricSuspendStatus: 2, MetricReconcileDuration: 2},
			check: func(t *testing.T, fams map[string]*dto.MetricFamily) {
				if got := gaugeOf(fams[MetricReconcileCondition], "a", "Ready", "False"); got != 1 {
					t.Errorf("a Ready=False gauge %v, want 1", got)
				}
				if got := gaugeOf(fams[MetricReconcileCondition], "b", "Stalled", "True"); got != 1 {
					t.Errorf("b Stalled=True gauge %v, want 1", got)
				}
				for _, m := range fams[MetricReconcileDuration].GetMetric() {
					h := m.GetHistogram()
					if label(m, "name") == "a" && (h.GetSampleCount() != 2 || h.GetBucket()[0].GetCumulativeCount() != 1) {
						t.Errorf("a histogram %v, want 2 samples, 1 in the first bucket", h)
					}
					if label(m, "name") == "b" && (h.GetSampleCount() != 1 || h.GetBucket()[len(h.GetBucket())-1].GetCumulativeCount() != 0) {
						t.Errorf("b histogram %v, want 1 sample above every bucket", h)
					}
				}
			},
		},
		{
			name:   "a forgotten",
			do:     func(m *objectMetrics) { m.forget(a) },
			series: map[string]int{MetricReconcileCondition: 9, MetricSuspendStatus: 1, MetricReconcileDuration: 1},
		},
	}
	m := newObjectMetrics()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do(m)
			got, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			fams := map[string]*dto.MetricFamily{}
			for _, f := range got {
				fams[f.GetName()] = f
			}
			for _, name := range []string{MetricReconcileCondition, MetricSuspendStatus, MetricReconcileDuration} {
				if n := len(fams[name].GetMetric()); n != s.series[name] {
					t.Errorf("%s: %d samples, want %d", name, n, s.series[name])
				}
			}
			if s.check != nil {
				s.check(t, fams)
			}
		})
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func gaugeOf(f *dto.MetricFamily, name, typ, status string) float64 {
	for _, m := range f.GetMetric() {
		if label(m, "name") == name && label(m, "type") == typ && label(m, "status") == status {
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
