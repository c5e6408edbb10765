package dev

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gotk.dev/pkg/testenv"
)

// controller is one controller process and the ports it was given; the
// defaults (:8080, :9440, :9090) would collide with five on one host.
type controller struct {
	name        string
	metricsPort int
	healthPort  int
	proc        *testenv.Process
}

type controllers struct {
	list         []*controller
	storagePort  int
	eventsPort   int
	receiverPort int
	exited       chan error
}

// startControllers runs the five controllers wired to each other: every
// controller posts events to notification-controller, and consumers
// download artifacts from source-controller's storage address.
func startControllers(ctx context.Context, binDir, stateDir, kubeconfig string) (*controllers, error) {
	ports, err := freePorts(13)
	if err != nil {
		return nil, err
	}
	c := &controllers{storagePort: ports[10], eventsPort: ports[11], receiverPort: ports[12], exited: make(chan error, 5)}
	logDir := filepath.Join(stateDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	eventsURL := fmt.Sprintf("http://127.0.0.1:%d/", c.eventsPort)
	storage := fmt.Sprintf("127.0.0.1:%d", c.storagePort)
	extra := map[string][]string{
		"source-controller": {"--events-addr=" + eventsURL, "--storage-path=" + filepath.Join(stateDir, "storage", "source"),
			"--storage-addr=" + storage, "--storage-adv-addr=" + storage,
			"--git-cache-path=" + filepath.Join(stateDir, "git-cache")},
		"kustomize-controller":        {"--events-addr=" + eventsURL},
		"helm-controller":             {"--events-addr=" + eventsURL},
		"image-automation-controller": {"--events-addr=" + eventsURL, "--storage-path=" + filepath.Join(stateDir, "storage", "image")},
		"notification-controller": {fmt.Sprintf("--events-addr=127.0.0.1:%d", c.eventsPort),
			fmt.Sprintf("--receiverAddr=127.0.0.1:%d", c.receiverPort)},
	}
	env := []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=" + Namespace}
	for i, name := range []string{"source-controller", "kustomize-controller", "helm-controller", "image-automation-controller", "notification-controller"} {
		ctl := &controller{name: name, metricsPort: ports[2*i], healthPort: ports[2*i+1]}
		args := append([]string{
			fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ctl.metricsPort),
			fmt.Sprintf("--health-addr=127.0.0.1:%d", ctl.healthPort),
			"--log-level=info", "--log-encoding=json",
		}, extra[name]...)
		ctl.proc, err = testenv.StartProcess(filepath.Join(binDir, name), filepath.Join(logDir, name+".log"), env, args...)
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("%w (run `make build` first)", err)
		}
		c.list = append(c.list, ctl)
		go func(ctl *controller) {
			<-ctl.proc.Done()
			c.exited <- fmt.Errorf("%s exited: %v (log: %s)", ctl.name, ctl.proc.Err(), ctl.proc.LogPath)
		}(ctl)
	}
	return c, nil
}

// waitReady polls each controller's /readyz until it answers 200, then
// the artifact server, which consumers need and which starts on its own.
func (c *controllers) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	defer func() {
		for time.Now().Before(deadline) {
			if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.storagePort), time.Second); err == nil {
				conn.Close()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	for _, ctl := range c.list {
		url := fmt.Sprintf("http://127.0.0.1:%d/readyz", ctl.healthPort)
		for {
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					fmt.Printf("✔ %s is ready\n", ctl.name)
					break
				}
			}
			select {
			case err := <-c.exited:
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready after %s (log: %s)", ctl.name, timeout, ctl.proc.LogPath)
			}
		}
	}
	return nil
}

func (c *controllers) printEndpoints() {
	fmt.Printf("  artifacts:  http://127.0.0.1:%d/\n", c.storagePort)
	fmt.Printf("  events:     http://127.0.0.1:%d/\n", c.eventsPort)
	fmt.Printf("  webhooks:   http://127.0.0.1:%d/hook/...\n", c.receiverPort)
	for _, ctl := range c.list {
		fmt.Printf("  %-28s metrics :%d  health :%d  log %s\n", ctl.name, ctl.metricsPort, ctl.healthPort, ctl.proc.LogPath)
	}
}

func (c *controllers) stop() {
	for _, ctl := range c.list {
		ctl.proc.Stop(15 * time.Second)
	}
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
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
