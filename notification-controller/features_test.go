package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestFeatureGatesStartup builds the controller and starts it with
// --feature-gates: a gate gotk does not implement, or does not know,
// stops it at once with a message naming gate and controller; gates at
// values gotk implements let it start and become ready.
func TestFeatureGatesStartup(t *testing.T) {
	g := NewWithT(t)
	bin := filepath.Join(t.TempDir(), controllerName)
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))

	for _, tc := range []struct {
		gates string
		code  int
		err   string
	}{
		{gates: "DisableConfigWatchers=true", code: 1,
			err: "notification-controller: feature gate DisableConfigWatchers is not implemented by gotk"},
		{gates: "DetectDrift=true", code: 1,
			err: "notification-controller: feature gate DetectDrift is unknown to notification-controller"},
		{gates: "CacheSecretsAndConfigMaps=maybe", code: 2, err: `invalid argument "CacheSecretsAndConfigMaps=maybe" for "--feature-gates" flag`},
	} {
		t.Run("refused "+tc.gates, func(t *testing.T) {
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--feature-gates="+tc.gates)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			g.Expect(errors.As(err, &exit)).To(BeTrue(), "exit status, got %v", err)
			g.Expect(exit.ExitCode()).To(Equal(tc.code))
			g.Expect(stderr.String()).To(ContainSubstring(tc.err))
		})
	}

	t.Run("accepted", func(t *testing.T) {
		g := NewWithT(t)
		health := freeAddr(t)
		cmd := exec.Command(bin, "--feature-gates=CacheSecretsAndConfigMaps=true,DisableConfigWatchers=false,ObjectLevelWorkloadIdentity=true",
			"--metrics-addr="+freeAddr(t), "--health-addr="+health, "--events-addr="+freeAddr(t), "--receiverAddr="+freeAddr(t))
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		g.Expect(cmd.Start()).To(Succeed())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		g.Eventually(func(g Gomega) {
			select {
			case err := <-exited:
				exited <- err
				g.Expect(err).NotTo(HaveOccurred(), "exited: %s", stderr.String())
			default:
			}
			resp, err := http.Get("http://" + health + "/readyz")
			g.Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		}, time.Minute, 200*time.Millisecond).Should(Succeed())
		g.Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		g.Eventually(exited, time.Minute).Should(Receive(BeNil()), stderr.String())
		g.Expect(stderr.String()).NotTo(ContainSubstring("feature gate"))
	})
}
