package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FakeNodeName is the simulated node kwok manages.
const FakeNodeName = "kwok-node-0"

type workloads struct {
	procs []*Process
}

// startWorkloads runs the controller-manager, scheduler and kwok against
// the cluster and registers one simulated node.
func startWorkloads(ctx context.Context, cl *Cluster, bin string, stages []string) (*workloads, error) {
	w := &workloads{}
	stagesFile, err := writeStages(bin, cl.Dir, stages)
	if err != nil {
		return nil, err
	}
	kc := "--kubeconfig=" + cl.Kubeconfig
	cmds := []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", []string{kc, "--controllers=*,-serviceaccount-token", "--secure-port=0",
			"--leader-elect=false", "--use-service-account-credentials=false", "--concurrent-deployment-syncs=10",
			// Its default client limit (20 QPS) makes rolling out 1000
			// Deployments take minutes on its own; large clusters raise it.
			"--kube-api-qps=200", "--kube-api-burst=400",
			// kwok refreshes the simulated node's heartbeat about every 50 s,
			// at the default grace period's edge: when it is missed, the node
			// turns Unknown and every pod NotReady for good.
			"--node-monitor-grace-period=10m"}},
		{"kube-scheduler", []string{kc, "--secure-port=0", "--leader-elect=false"}},
		{"kwok", []string{kc, "--manage-all-nodes=true", "--config=" + stagesFile}},
	}
	for _, c := range cmds {
		p, err := StartProcess(filepath.Join(bin, c.name), filepath.Join(cl.Dir, c.name+".log"), nil, c.args...)
		if err != nil {
			w.stop()
			return nil, err
		}
		w.procs = append(w.procs, p)
	}
	if err := cl.Client.Create(ctx, fakeNode()); err != nil && !apierrors.IsAlreadyExists(err) {
		w.stop()
		return nil, fmt.Errorf("registering the simulated node: %w", err)
	}
	return w, nil
}

// stop ends the processes in reverse order.
func (w *workloads) stop() {
	for i := len(w.procs) - 1; i >= 0; i-- {
		w.procs[i].Stop(10 * time.Second)
	}
	w.procs = nil
}

func fakeNode() *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type": "kwok", "kubernetes.io/hostname": FakeNodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// writeStages combines kwok's defaults with the extra stages into one file.
func writeStages(bin, dir string, extra []string) (string, error) {
	if len(extra) == 0 {
		return filepath.Join(bin, "kwok-stages.yaml"), nil
	}
	defaults, err := os.ReadFile(filepath.Join(bin, "kwok-stages.yaml"))
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kwok-stages.yaml")
	docs := append([]string{string(defaults)}, extra...)
	return path, os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o644)
}
