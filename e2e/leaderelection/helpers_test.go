package leaderelection

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

// eventually polls fn until it returns nil and returns how long that
// took. It fails the test after timeout with fn's last error, or at once
// when a controller process exits on its own.
func eventually(t testing.TB, reps *testenv.Replicas, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := fn()
		if err == nil {
			return time.Since(start)
		}
		for _, r := range []*testenv.Replicas{reps, sources} {
			if r == nil {
				continue
			}
			select {
			case exit := <-r.Exited:
				t.Fatalf("%s: %v", what, exit)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func applyYAML(ctx context.Context, t testing.TB, text string) {
	t.Helper()
	testenv.ApplyYAML(ctx, t, env.Client, text)
}

func ready(ctx context.Context, obj testenv.ReadyObject) error {
	return testenv.ReadyStatus(ctx, env.Client, obj)
}

// leaseHolder is the holder identity of the Lease name in the runtime
// namespace ("" when the Lease is missing or free).
func leaseHolder(ctx context.Context, name string) (string, error) {
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, lease); err != nil {
		return "", err
	}
	if lease.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *lease.Spec.HolderIdentity, nil
}

// leading reports whether a replica says, in its metrics, that it holds
// its Lease (controller-runtime's leader_election_master_status gauge;
// a standby has no such series or a 0).
func leading(rep *testenv.Replica) (bool, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", rep.MetricsPort))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "leader_election_master_status{") && strings.HasSuffix(line, " 1") {
			return true, nil
		}
	}
	return false, sc.Err()
}

// readyz is the status code of a replica's /readyz and its body.
func readyz(rep *testenv.Replica) (int, string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz?verbose", rep.HealthPort))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}
