package localcluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ControllerNames are the five controllers, in start order.
var ControllerNames = []string{"source-controller", "kustomize-controller", "helm-controller", "image-automation-controller", "notification-controller"}

// ControllersOptions say how to run the controllers as local processes.
type ControllersOptions struct {
	// BinDir holds the controller binaries.
	BinDir string
	// StateDir receives logs/, storage/ and the git cache.
	StateDir string
	// Kubeconfig is used by every controller not named in Kubeconfigs.
	Kubeconfig string
	// Kubeconfigs gives a controller its own identity (e.g. its ServiceAccount's token).
	Kubeconfigs map[string]string
	// Namespace is the controllers' runtime namespace.
	Namespace string
	// Args are extra flags per controller, appended to the wiring flags.
	Args map[string][]string
}

// Controller is one controller process and the ports it was given; the
// defaults (:8080, :9440, :9090) would collide with five on one host.
type Controller struct {
	// Name is the binary's name, e.g. source-controller.
	Name string
	// MetricsPort and HealthPort serve /metrics and /readyz.
	MetricsPort, HealthPort int
	// Proc is the running process (replaced by Restart).
	Proc *Process

	path, logPath string
	env, args     []string
}

// Controllers are the five controllers wired to each other: every
// controller posts events to notification-controller, and consumers
// download artifacts from source-controller's storage address.
type Controllers struct {
	// List is in ControllerNames order.
	List []*Controller
	// StoragePort serves source-controller's artifacts.
	StoragePort int
	// EventsPort is notification-controller's event intake.
	EventsPort int
	// ReceiverPort serves the Receivers' webhooks.
	ReceiverPort int
	// Exited receives an error when a controller exits on its own.
	Exited chan error

	mu sync.Mutex // guards Controller.Proc across restarts
}

// StartControllers starts the five controllers on free loopback ports.
func StartControllers(ctx context.Context, o ControllersOptions) (*Controllers, error) {
	ports, err := FreePorts(2*len(ControllerNames) + 3)
	if err != nil {
		return nil, err
	}
	n := 2 * len(ControllerNames)
	c := &Controllers{StoragePort: ports[n], EventsPort: ports[n+1], ReceiverPort: ports[n+2], Exited: make(chan error, 1)}
	logDir := filepath.Join(o.StateDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	eventsURL := fmt.Sprintf("http://127.0.0.1:%d/", c.EventsPort)
	storage := fmt.Sprintf("127.0.0.1:%d", c.StoragePort)
	wiring := map[string][]string{
		"source-controller": {"--events-addr=" + eventsURL, "--storage-path=" + filepath.Join(o.StateDir, "storage", "source"),
			"--storage-addr=" + storage, "--storage-adv-addr=" + storage,
			"--git-cache-path=" + filepath.Join(o.StateDir, "git-cache")},
		"kustomize-controller":        {"--events-addr=" + eventsURL},
		"helm-controller":             {"--events-addr=" + eventsURL},
		"image-automation-controller": {"--events-addr=" + eventsURL, "--storage-path=" + filepath.Join(o.StateDir, "storage", "image")},
		"notification-controller": {fmt.Sprintf("--events-addr=127.0.0.1:%d", c.EventsPort),
			fmt.Sprintf("--receiverAddr=127.0.0.1:%d", c.ReceiverPort)},
	}
	for i, name := range ControllerNames {
		kubeconfig := o.Kubeconfig
		if k, ok := o.Kubeconfigs[name]; ok {
			kubeconfig = k
		}
		ctl := &Controller{Name: name, MetricsPort: ports[2*i], HealthPort: ports[2*i+1],
			path: filepath.Join(o.BinDir, name), logPath: filepath.Join(logDir, name+".log"),
			env: []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=" + o.Namespace}}
		ctl.args = append([]string{
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ctl.MetricsPort),
			fmt.Sprintf("--health-addr=127.0.0.1:%d", ctl.HealthPort),
			"--log-level=info", "--log-encoding=json",
		}, append(wiring[name], o.Args[name]...)...)
		if err := c.start(ctl); err != nil {
			c.Stop()
			return nil, fmt.Errorf("%w (run `make build` first)", err)
		}
		c.List = append(c.List, ctl)
	}
	return c, nil
}

func (c *Controllers) start(ctl *Controller) error {
	proc, err := StartProcess(ctl.path, ctl.logPath, ctl.env, ctl.args...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ctl.Proc = proc
	c.mu.Unlock()
	go func() {
		<-proc.Done()
		c.mu.Lock()
		wanted := ctl.Proc != proc // killed and restarted on purpose
		c.mu.Unlock()
		if wanted {
			return
		}
		select {
		case c.Exited <- fmt.Errorf("%s exited: %v (log: %s)", ctl.Name, proc.Err(), proc.LogPath):
		default:
		}
	}()
	return nil
}

// Get returns the controller called name, or nil.
func (c *Controllers) Get(name string) *Controller {
	for _, ctl := range c.List {
		if ctl.Name == name {
			return ctl
		}
	}
	return nil
}

// KillAndRestart SIGKILLs a controller (no graceful shutdown, as a node
// failure would) and starts it again with the same flags and ports.
func (c *Controllers) KillAndRestart(name string) error {
	ctl := c.Get(name)
	if ctl == nil {
		return fmt.Errorf("no controller %q", name)
	}
	c.mu.Lock()
	old := ctl.Proc
	ctl.Proc = nil // tells the exit watcher this exit is wanted
	c.mu.Unlock()
	if old == nil {
		return fmt.Errorf("%s is not running", name)
	}
	old.Kill()
	<-old.Done()
	return c.start(ctl)
}

// WaitReady polls each controller's /readyz until it answers 200, then
// the artifact server, which consumers need and which starts on its own.
func (c *Controllers) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, ctl := range c.List {
		if err := c.waitReady(ctx, ctl, deadline); err != nil {
			return err
		}
	}
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.StoragePort), time.Second); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("artifact server on :%d not listening after %s", c.StoragePort, timeout)
}

// WaitControllerReady waits until one controller answers /readyz.
func (c *Controllers) WaitControllerReady(ctx context.Context, name string, timeout time.Duration) error {
	ctl := c.Get(name)
	if ctl == nil {
		return fmt.Errorf("no controller %q", name)
	}
	return c.waitReady(ctx, ctl, time.Now().Add(timeout))
}

func (c *Controllers) waitReady(ctx context.Context, ctl *Controller, deadline time.Time) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", ctl.HealthPort)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-c.Exited:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready (log: %s)", ctl.Name, ctl.logPath)
		}
	}
}

// Stop stops every controller, gracefully first.
func (c *Controllers) Stop() {
	for _, ctl := range c.List {
		c.mu.Lock()
		proc := ctl.Proc
		c.mu.Unlock()
		if proc != nil {
			proc.Stop(15 * time.Second)
		}
	}
}

// FreePorts asks the kernel for n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
