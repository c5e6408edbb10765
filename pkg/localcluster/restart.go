package localcluster

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// RestartAPIServer kills the kube-apiserver (SIGKILL, as a crash would:
// a graceful stop waits a minute for open watches) and runs it again
// with the same flags: same address, etcd, certificates and users.
// Clients see connection errors meanwhile. It returns once the new
// process is started, not when it serves.
func (c *Cluster) RestartAPIServer() error {
	pid, args, err := c.apiServerProcess()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing kube-apiserver: %w", err)
	}
	// Wait until the old process is gone and its port free.
	for range 100 {
		if err := syscall.Kill(pid, 0); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.restarts++
	proc, err := StartProcess(args[0], filepath.Join(c.Dir, fmt.Sprintf("kube-apiserver-%d.log", c.restarts)), nil, args[1:]...)
	if err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	c.AddCleanup(func() { proc.Stop(10 * time.Second) })
	return nil
}

// apiServerProcess finds this cluster's kube-apiserver by its secure
// port and returns its pid and command line.
func (c *Cluster) apiServerProcess() (int, []string, error) {
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		return 0, nil, err
	}
	flag := []byte("--secure-port=" + u.Port())
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		fields := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
		if len(fields) == 0 || filepath.Base(string(fields[0])) != "kube-apiserver" {
			continue
		}
		args := make([]string, len(fields))
		found := false
		for i, a := range fields {
			args[i] = string(a)
			found = found || bytes.Equal(a, flag)
		}
		if found {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid, args, err
		}
	}
	return 0, nil, fmt.Errorf("no kube-apiserver process with %s", flag)
}
