package containers

import (
	"fmt"
	"io"
	"net"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// serviceProxy stands in for kube-proxy: it listens on each Service's
// address and port and forwards to the target port of the pod its
// selector picks, so the controllers reach each other by the Service
// names their flags carry (events, artifact URLs).
type serviceProxy struct {
	listeners []net.Listener
	wg        sync.WaitGroup
}

// serviceHosts names a Service as cluster DNS would, fully qualified with
// the trailing dot the install's flags use.
func serviceHosts(svc *corev1.Service) []string {
	fq := fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)
	return []string{fq, fq + "."}
}

// startServiceProxy forwards every port of every Service (at addrs[i]) to
// the one pod of pods its selector matches.
func startServiceProxy(services []*corev1.Service, addrs []string, pods []*pod) (*serviceProxy, error) {
	p := &serviceProxy{}
	for i, svc := range services {
		target, err := selectPod(svc, pods)
		if err != nil {
			p.Close()
			return nil, err
		}
		for _, sp := range svc.Spec.Ports {
			to, err := targetAddr(sp, target)
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("Service %s: %w", svc.Name, err)
			}
			l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", addrs[i], sp.Port))
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("Service %s: %w", svc.Name, err)
			}
			p.listeners = append(p.listeners, l)
			p.wg.Add(1)
			go p.serve(l, to)
		}
	}
	return p, nil
}

func selectPod(svc *corev1.Service, pods []*pod) (*pod, error) {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var found []*pod
	for _, p := range pods {
		if sel.Matches(labels.Set(p.deployment.Spec.Template.Labels)) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("Service %s selects %d controller pods, want 1", svc.Name, len(found))
	}
	return found[0], nil
}

func targetAddr(sp corev1.ServicePort, target *pod) (string, error) {
	if sp.TargetPort.IntVal != 0 {
		return fmt.Sprintf("%s:%d", target.addr, sp.TargetPort.IntVal), nil
	}
	return target.port(sp.TargetPort.StrVal)
}

func (p *serviceProxy) serve(l net.Listener, to string) {
	defer p.wg.Done()
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go forward(conn, to)
	}
}

func forward(conn net.Conn, to string) {
	defer conn.Close()
	upstream, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, conn); closeWrite(upstream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, upstream); closeWrite(conn); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
}

// Close stops listening and waits for the accept loops.
func (p *serviceProxy) Close() {
	for _, l := range p.listeners {
		l.Close()
	}
	p.wg.Wait()
}
