package sharding

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// applyYAML server-side applies every object of a multi-document YAML text.
func applyYAML(ctx context.Context, t testing.TB, text string) {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// readyObject is a Flux object with conditions.
type readyObject interface {
	client.Object
	conditions.Getter
}

// ready reads obj and returns nil when it is Ready for its generation.
func ready(ctx context.Context, obj readyObject) error {
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	c := conditions.Get(obj, meta.ReadyCondition)
	if c != nil && c.Status == "True" && c.ObservedGeneration == obj.GetGeneration() {
		return nil
	}
	return fmt.Errorf("%s %s: Ready %s: %s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(),
		conditions.GetReason(obj, meta.ReadyCondition), conditions.GetMessage(obj, meta.ReadyCondition))
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
