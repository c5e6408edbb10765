package containers

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// podmanBase are the flags every container gets on this kind of machine,
// each a deviation from a kubelet that the machine forces: runc (crun
// refuses the hybrid cgroup layout), rlimits at most what the runner may
// set, and the host's network (no CNI here; every pod gets its own
// loopback address instead, see pod.addr). Logs go to a file podman
// reads back, whatever its configured default.
var podmanBase = []string{"--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "host",
	"--log-driver", "k8s-file"}

// serviceAccountDir is where a kubelet mounts a Pod's token, CA and namespace.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// portFlags name the flag that binds a declared container port when the
// Deployment's args leave it at the binary's default.
var portFlags = map[string]string{"http-prom": "--metrics-addr", "healthz": "--health-addr", "http": "--storage-addr"}

// patchedArgs are flags added to a Deployment's args, as a user's
// kustomize patch of the install would: kustomize-controller fetches
// remote bases (refused by default), which TestRemoteBasesFromImage needs.
var patchedArgs = map[string][]string{"kustomize-controller": {"--no-remote-bases=false"}}

// pod is one controller Deployment run as a container, as a kubelet would
// run its Pod: the image's entrypoint with the container's args and env,
// the ServiceAccount token mounted, emptyDirs as volumes owned by fsGroup,
// and the security context and resource limits applied.
type pod struct {
	// deployment is the Deployment as `gotk install --export` prints it.
	deployment *appsv1.Deployment
	// addr is the pod's own loopback address (its "pod IP").
	addr string
	// dir holds the pod's volumes and its ServiceAccount files.
	dir string
	// container is the podman container's name.
	container string
}

func (p *pod) name() string { return p.deployment.Name }

func (p *pod) spec() *corev1.Container { return &p.deployment.Spec.Template.Spec.Containers[0] }

// port returns the address a named container port is bound to.
func (p *pod) port(name string) (string, error) {
	for _, cp := range p.spec().Ports {
		if cp.Name == name {
			return fmt.Sprintf("%s:%d", p.addr, cp.ContainerPort), nil
		}
	}
	return "", fmt.Errorf("%s declares no port %q", p.name(), name)
}

// env resolves the container's environment as a kubelet does: literal
// values with $(VAR) expansion, and the downward API fields a controller
// uses.
func (p *pod) env() (map[string]string, []string, error) {
	values := map[string]string{}
	var order []string
	for _, e := range p.spec().Env {
		v := expand(e.Value, values)
		if from := e.ValueFrom; from != nil {
			if from.FieldRef == nil {
				return nil, nil, fmt.Errorf("%s: env %s: only fieldRef is supported here", p.name(), e.Name)
			}
			switch from.FieldRef.FieldPath {
			case "metadata.namespace":
				v = p.deployment.Namespace
			case "metadata.name":
				v = p.container
			default:
				return nil, nil, fmt.Errorf("%s: env %s: unsupported fieldRef %s", p.name(), e.Name, from.FieldRef.FieldPath)
			}
		}
		if _, seen := values[e.Name]; !seen {
			order = append(order, e.Name)
		}
		values[e.Name] = v
	}
	return values, order, nil
}

// args are the container's args with $(VAR) expanded and each declared
// port bound to the pod's address instead of all interfaces.
func (p *pod) args(env map[string]string) ([]string, error) {
	var args []string
	for _, a := range p.spec().Args {
		args = append(args, expand(a, env))
	}
	args = append(args, patchedArgs[p.name()]...)
	for _, cp := range p.spec().Ports {
		suffix := fmt.Sprintf(":%d", cp.ContainerPort)
		bound := false
		for i, a := range args {
			if name, value, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "--") && value == suffix {
				args[i] = name + "=" + p.addr + suffix
				bound = true
			}
		}
		if flag, ok := portFlags[cp.Name]; ok && !bound {
			args = append(args, flag+"="+p.addr+suffix)
			bound = true
		}
		if !bound {
			return nil, fmt.Errorf("%s: port %s (%d) is bound by no flag", p.name(), cp.Name, cp.ContainerPort)
		}
	}
	return args, nil
}

// runArgs are podman's arguments to run the pod, given the API server's
// address and the Service names the pod resolves (name → address).
func (p *pod) runArgs(apiHost, apiPort string, hosts map[string]string) ([]string, error) {
	c, spec := p.spec(), p.deployment.Spec.Template.Spec
	env, order, err := p.env()
	if err != nil {
		return nil, err
	}
	args, err := p.args(env)
	if err != nil {
		return nil, err
	}
	run := append([]string{"run", "--detach", "--pull", "never", "--name", p.container, "--hostname", p.container}, podmanBase...)
	// In-cluster configuration: the API server's address as kubelets set
	// it, and the token, CA and namespace at the path client-go reads.
	run = append(run, "--env", "KUBERNETES_SERVICE_HOST="+apiHost, "--env", "KUBERNETES_SERVICE_PORT="+apiPort,
		"--volume", filepath.Join(p.dir, "serviceaccount")+":"+serviceAccountDir+":ro")
	for _, name := range order {
		run = append(run, "--env", name+"="+env[name])
	}
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		run = append(run, "--add-host", name+":"+hosts[name])
	}
	if sc := spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		run = append(run, "--group-add", fmt.Sprint(*sc.FSGroup))
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
			run = append(run, "--read-only")
		}
		if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			run = append(run, "--security-opt", "no-new-privileges")
		}
		if sc.Capabilities != nil {
			for _, drop := range sc.Capabilities.Drop {
				run = append(run, "--cap-drop", string(drop))
			}
		}
		if sc.RunAsUser != nil {
			run = append(run, "--user", fmt.Sprint(*sc.RunAsUser))
		}
	}
	if mem := c.Resources.Limits.Memory(); !mem.IsZero() {
		run = append(run, "--memory", fmt.Sprint(mem.Value()))
	}
	if cpu := c.Resources.Limits.Cpu(); !cpu.IsZero() {
		run = append(run, "--cpus", fmt.Sprintf("%.3f", float64(cpu.MilliValue())/1000))
	}
	mounts, err := p.volumes()
	if err != nil {
		return nil, err
	}
	run = append(run, mounts...)
	if len(c.Command) > 0 {
		return nil, fmt.Errorf("%s: a command overrides the image's entrypoint; the Deployments rely on it", p.name())
	}
	run = append(run, c.Image)
	return append(run, args...), nil
}

// volumes mounts each emptyDir as a directory of the pod's own, owned by
// the Pod's fsGroup with the set-group-ID bit, as a kubelet prepares it.
func (p *pod) volumes() ([]string, error) {
	spec := p.deployment.Spec.Template.Spec
	gid := -1
	if spec.SecurityContext != nil && spec.SecurityContext.FSGroup != nil {
		gid = int(*spec.SecurityContext.FSGroup)
	}
	var mounts []string
	for _, m := range p.spec().VolumeMounts {
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == m.Name {
				vol = &spec.Volumes[i]
			}
		}
		if vol == nil || vol.EmptyDir == nil {
			return nil, fmt.Errorf("%s: volume %q is not an emptyDir", p.name(), m.Name)
		}
		dir := filepath.Join(p.dir, "volumes", m.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, 0, gid); err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o2770|os.ModeSetgid); err != nil {
			return nil, err
		}
		opt := "rw"
		if m.ReadOnly {
			opt = "ro"
		}
		mounts = append(mounts, "--volume", dir+":"+m.MountPath+":"+opt)
	}
	return mounts, nil
}

// writeServiceAccount writes the files a kubelet projects into the Pod:
// the ServiceAccount's token, the cluster CA and the namespace.
func (p *pod) writeServiceAccount(token string, ca []byte) error {
	dir := filepath.Join(p.dir, "serviceaccount")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"token": []byte(token), "ca.crt": ca, "namespace": []byte(p.deployment.Namespace)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// expand replaces $(VAR) with env's value as a kubelet does: $$ escapes,
// and an unknown variable is left as written.
func expand(s string, env map[string]string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			out.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				out.WriteString(s[i:])
				return out.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				out.WriteString(v)
			} else {
				out.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			out.WriteByte('$')
		}
	}
	return out.String()
}

// podman runs podman and returns its standard output.
func podman(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "podman", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
