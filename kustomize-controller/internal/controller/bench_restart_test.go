package controller

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"gotk.dev/pkg/testenv"
)

// benchRestartScale stops the controller's manager once n Kustomizations
// are Ready and starts a new one on the same API server, as a controller
// Pod restart does, then reports the time until the new controller has
// verified every Kustomization (each reconciled once, the queue empty and
// no reconcile running), the writes it made meanwhile (the goal is none:
// nothing changed) and the CPU seconds this process used for it, which
// it returns.
func benchRestartScale(b *testing.B, ns string, n int) float64 {
	stopManager()
	stopManager = nil
	reconciles0 := controllerMetric(b, "controller_runtime_reconcile_total", "controller")
	_, writes0, _ := apiRequests.Snapshot()
	cpu0 := testenv.CPUSeconds()
	start := time.Now()
	stop, err := startManager(context.Background())
	if err != nil {
		b.Fatalf("restarting the manager: %v", err)
	}
	stopManager = stop
	timeout := max(5*time.Minute, time.Duration(n)*30*time.Millisecond)
	deadline := start.Add(timeout)
	for {
		done := controllerMetric(b, "controller_runtime_reconcile_total", "controller") - reconciles0
		if done >= float64(n) && controllerMetric(b, "workqueue_depth", "name") == 0 &&
			controllerMetric(b, "controller_runtime_active_workers", "controller") == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after a restart, %.0f of %d Kustomizations reconciled in %s", done, n, timeout)
		}
		// Gathering walks every per-object series: not more often.
		time.Sleep(250 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu := testenv.CPUSeconds() - cpu0
	_, writes, _ := apiRequests.Snapshot()
	awaitAllReady(b, ns, n, max(time.Minute, time.Duration(n)*10*time.Millisecond))
	b.ReportMetric(elapsed.Seconds(), "s-restart-to-verified")
	b.ReportMetric(float64(writes-writes0), "restart-writes")
	b.ReportMetric(cpu, "restart-cpu-s")
	return cpu
}

// benchSteadyState measures the CPU this process (the controller and the
// idle benchmark) uses over window with nothing changing, in cores, and
// the controller's writes meanwhile. Each Kustomization's interval
// reconcile costs about what verifying it after the restart did, so the
// steady load at interval I is this idle figure plus restart-cpu-s / I,
// reported as steady-cores-at-interval (restartCPU 0: not measured).
func benchSteadyState(b *testing.B, window time.Duration, restartCPU float64) {
	total0, writes0, _ := apiRequests.Snapshot()
	cpu0 := testenv.CPUSeconds()
	start := time.Now()
	// A measurement window: nothing to poll for, the point is to wait.
	time.Sleep(window)
	idle := (testenv.CPUSeconds() - cpu0) / time.Since(start).Seconds()
	total, writes, _ := apiRequests.Snapshot()
	b.ReportMetric(idle, "steady-idle-cores")
	b.ReportMetric(float64(total-total0), "steady-requests")
	b.ReportMetric(float64(writes-writes0), "steady-writes")
	if restartCPU > 0 {
		b.ReportMetric(idle+restartCPU/testenv.BenchKustomizationInterval.Seconds(), "steady-cores-at-interval")
	}
}

// controllerMetric sums metric name over the series whose label is the
// Kustomization controller's name, from controller-runtime's registry
// (the manager's reconcile and workqueue metrics).
func controllerMetric(b *testing.B, name, label string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		b.Fatalf("reading the controller's metrics: %v", err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, label) != "kustomization" {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
