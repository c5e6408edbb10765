package sharding

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotk.dev/pkg/testenv"
)

// eventually polls fn until it returns nil; it fails the test after
// timeout with fn's last error, or at once when an instance exits.
func eventually(t testing.TB, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		for name, r := range instances {
			select {
			case exit := <-r.Exited:
				t.Fatalf("%s: %s exited: %v", what, name, exit)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func applyYAML(ctx context.Context, t testing.TB, text string) {
	t.Helper()
	testenv.ApplyYAML(ctx, t, env.Client, text)
}

func ready(ctx context.Context, obj testenv.ReadyObject) error {
	return testenv.ReadyStatus(ctx, env.Client, obj)
}

// reconciles is how many reconciles of the object an instance has
// measured: the count of its gotk_reconcile_duration_seconds histogram
// on the instance's /metrics (0 when it never reconciled it).
func reconciles(instance, kind, namespace, name string) (int, error) {
	r := instances[instance]
	if r == nil {
		return 0, fmt.Errorf("no instance %s", instance)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", r.List[0].MetricsPort))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Prometheus writes labels sorted by name.
	want := fmt.Sprintf(`gotk_reconcile_duration_seconds_count{kind=%q,name=%q,namespace=%q} `, kind, name, namespace)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, sc.Err()
}

// reconciledOnlyBy checks that the instance owner measured reconciles of
// the object and every other instance of controller none.
func reconciledOnlyBy(controller, owner, kind, namespace, name string) error {
	for _, l := range layout {
		if l.controller != controller {
			continue
		}
		for _, shard := range l.shards {
			inst := instanceName(controller, shard)
			n, err := reconciles(inst, kind, namespace, name)
			if err != nil {
				return err
			}
			switch {
			case inst == owner && n == 0:
				return fmt.Errorf("%s %s/%s: not reconciled by %s", kind, namespace, name, owner)
			case inst != owner && n > 0:
				return fmt.Errorf("%s %s/%s: reconciled %d times by %s, which is not its shard (owner %s)", kind, namespace, name, n, inst, owner)
			}
		}
	}
	return nil
}
