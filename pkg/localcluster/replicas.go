package localcluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ReplicasOptions say how to run several replicas of one controller as
// local processes, as a Deployment with more than one replica would run.
type ReplicasOptions struct {
	// Name is the controller, one of ControllerNames.
	Name string
	// Count is how many replicas to start.
	Count int
	// BinDir holds the controller binaries.
	BinDir string
	// StateDir receives logs/ and each replica's own storage (an emptyDir
	// is per Pod).
	StateDir string
	// Kubeconfig is every replica's identity.
	Kubeconfig string
	// Namespace is the runtime namespace, where the Lease lives.
	Namespace string
	// EventsURL is where the replicas post events; empty posts none.
	EventsURL string
	// Args are extra flags for every replica (leader election, selector).
	Args []string
}

// Replica is one process of a controller run with others.
type Replica struct {
	Controller
	// Index is the replica's place in Replicas.List.
	Index int
	// EventsPort and ReceiverPort are notification-controller's servers,
	// which every replica runs.
	EventsPort, ReceiverPort int
}

// Replicas are processes of one controller contending for its Lease.
type Replicas struct {
	// List is in start order.
	List []*Replica
	// StoragePort is source-controller's artifact address. Every replica
	// binds and advertises the same one, as they share a Service in a
	// cluster; only the elected leader listens on it.
	StoragePort int
	// Exited receives an error when a replica exits on its own.
	Exited chan error

	procs *Controllers // starts processes and watches their exits
}

// StartReplicas starts o.Count processes of the controller o.Name, each
// with its own metrics and health ports and storage.
func StartReplicas(ctx context.Context, o ReplicasOptions) (*Replicas, error) {
	ports, err := FreePorts(4*o.Count + 1)
	if err != nil {
		return nil, err
	}
	procs := &Controllers{Exited: make(chan error, 1)}
	r := &Replicas{StoragePort: ports[4*o.Count], Exited: procs.Exited, procs: procs}
	logDir := filepath.Join(o.StateDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	for i := range o.Count {
		rep := &Replica{Index: i, EventsPort: ports[4*i+2], ReceiverPort: ports[4*i+3]}
		id := fmt.Sprintf("%s-%d", o.Name, i)
		rep.Controller = Controller{Name: o.Name, MetricsPort: ports[4*i], HealthPort: ports[4*i+1],
			path: filepath.Join(o.BinDir, o.Name), logPath: filepath.Join(logDir, id+".log"),
			env: []string{"KUBECONFIG=" + o.Kubeconfig, "RUNTIME_NAMESPACE=" + o.Namespace}}
		rep.args = append([]string{
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", rep.MetricsPort),
			fmt.Sprintf("--health-addr=127.0.0.1:%d", rep.HealthPort),
			"--log-level=info", "--log-encoding=json",
		}, append(r.wiring(o, rep, filepath.Join(o.StateDir, id)), o.Args...)...)
		if err := procs.start(&rep.Controller); err != nil {
			r.Stop()
			return nil, fmt.Errorf("%w (run `make build` first)", err)
		}
		r.List = append(r.List, rep)
	}
	return r, nil
}

// wiring is a replica's own addresses and directories.
func (r *Replicas) wiring(o ReplicasOptions, rep *Replica, dir string) []string {
	var args []string
	if o.EventsURL != "" && o.Name != "notification-controller" {
		args = append(args, "--events-addr="+o.EventsURL)
	}
	storage := fmt.Sprintf("127.0.0.1:%d", r.StoragePort)
	switch o.Name {
	case "source-controller":
		args = append(args, "--storage-path="+filepath.Join(dir, "storage"), "--git-cache-path="+filepath.Join(dir, "git-cache"),
			"--storage-addr="+storage, "--storage-adv-addr="+storage)
	case "image-automation-controller":
		args = append(args, "--storage-path="+filepath.Join(dir, "storage"))
	case "notification-controller":
		args = append(args, fmt.Sprintf("--events-addr=127.0.0.1:%d", rep.EventsPort),
			fmt.Sprintf("--receiverAddr=127.0.0.1:%d", rep.ReceiverPort))
	}
	return args
}

// Kill SIGKILLs a replica (no graceful shutdown, no Lease release, as a
// node failure would) and waits for its exit; it stays down.
func (r *Replicas) Kill(rep *Replica) error {
	r.procs.mu.Lock()
	old := rep.Proc
	rep.Proc = nil // tells the exit watcher this exit is wanted
	r.procs.mu.Unlock()
	if old == nil {
		return fmt.Errorf("%s replica %d is not running", rep.Name, rep.Index)
	}
	old.Kill()
	return nil
}

// Start runs a killed replica again with the same flags and ports.
func (r *Replicas) Start(rep *Replica) error {
	r.procs.mu.Lock()
	running := rep.Proc != nil
	r.procs.mu.Unlock()
	if running {
		return fmt.Errorf("%s replica %d is running", rep.Name, rep.Index)
	}
	return r.procs.start(&rep.Controller)
}

// Running reports whether the replica's process is up.
func (r *Replicas) Running(rep *Replica) bool {
	r.procs.mu.Lock()
	defer r.procs.mu.Unlock()
	return rep.Proc != nil
}

// WaitHealthy polls every running replica's /healthz until it answers
// 200. (A standby may rightly never answer /readyz with 200.)
func (r *Replicas) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, rep := range r.List {
		if !r.Running(rep) {
			continue
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", rep.HealthPort)
		for {
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case err := <-r.Exited:
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s replica %d not healthy (log: %s)", rep.Name, rep.Index, rep.logPath)
			}
		}
	}
	return nil
}

// LogPath is where the replica's output goes.
func (rep *Replica) LogPath() string { return rep.logPath }

// Stop stops every replica, gracefully first.
func (r *Replicas) Stop() {
	for _, rep := range r.List {
		r.procs.mu.Lock()
		proc := rep.Proc
		rep.Proc = nil
		r.procs.mu.Unlock()
		if proc != nil {
			proc.Stop(15 * time.Second)
		}
	}
}
