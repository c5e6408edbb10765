package controller

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh/knownhosts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

func newSecret(g Gomega, ns, name string, data map[string][]byte) {
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data,
	})).To(Succeed())
}

// TestGitRepositoryAuth fetches over HTTPS with basic auth and a custom
// CA, and over SSH with a key and known_hosts; wrong credentials, an
// unknown host key and a missing Secret each give a precise condition
// that names the host and never the secret.
func TestGitRepositoryAuth(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	const password = "hunter2-very-secret"
	https := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{TLS: true, Auth: testserver.BasicAuth{Username: "git", Password: password}})
	commit, err := https.CommitFiles("app", "master", map[string]string{"a.yaml": "a"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	sshSrv := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{Repos: https.GitRepos})
	key, err := sshSrv.NewClientKey()
	g.Expect(err).NotTo(HaveOccurred())

	newSecret(g, ns, "https", map[string][]byte{"username": []byte("git"), "password": []byte(password), "ca.crt": https.CAPEM()})
	newSecret(g, ns, "wrong", map[string][]byte{"username": []byte("git"), "password": []byte("wrong-" + password), "ca.crt": https.CAPEM()})
	newSecret(g, ns, "ssh", map[string][]byte{"identity": key.PrivateKeyPEM, "known_hosts": []byte(sshSrv.KnownHostsLine())})
	other := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{})
	newSecret(g, ns, "ssh-mismatch", map[string][]byte{"identity": key.PrivateKeyPEM, "known_hosts": []byte(knownhosts.Line([]string{sshSrv.Addr()}, other.HostKey()))})

	ok := map[string]*sourcev1.GitRepository{
		"https": newGitRepository(ns, "https", https.URL("app"), nil),
		"ssh":   newGitRepository(ns, "ssh", sshSrv.URL("app"), nil),
	}
	for name, obj := range ok {
		obj.Spec.SecretRef = &meta.LocalObjectReference{Name: name}
		g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	}
	bad := map[string]struct {
		url, secret, reason, message string
	}{
		"wrong-password": {https.URL("app"), "wrong", sourcev1.AuthenticationFailedReason, "authentication to 127.0.0.1 failed"},
		"no-ca":          {https.URL("app"), "", sourcev1.GitOperationFailedReason, "certificate"},
		"host-key":       {sshSrv.URL("app"), "ssh-mismatch", sourcev1.AuthenticationFailedReason, "authentication to 127.0.0.1 failed: host key does not match known_hosts"},
		"no-secret":      {https.URL("app"), "absent", sourcev1.AuthenticationFailedReason, "failed to get secret '" + ns + "/absent'"},
	}
	for name, b := range bad {
		obj := newGitRepository(ns, name, b.url, nil)
		if b.secret != "" {
			obj.Spec.SecretRef = &meta.LocalObjectReference{Name: b.secret}
		}
		g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	}

	for _, obj := range ok {
		got := waitReady(g, obj)
		g.Expect(got.Status.Artifact.Revision).To(Equal("master@sha1:" + commit))
	}
	for name, b := range bad {
		got := waitCondition(g, newGitRepository(ns, name, "", nil), meta.ReadyCondition, metav1.ConditionFalse, b.reason)
		g.Expect(conditions.GetReason(got, sourcev1.FetchFailedCondition)).To(Equal(b.reason), name)
		msg := conditions.GetMessage(got, sourcev1.FetchFailedCondition)
		g.Expect(msg).To(ContainSubstring(b.message), name)
		g.Expect(msg).NotTo(ContainSubstring(password), name)
		g.Expect(conditions.IsStalled(got)).To(BeFalse(), "%s is retried", name)
		g.Expect(conditions.IsReconciling(got)).To(BeTrue(), "%s is retried", name)
		status, err := json.Marshal(got.Status)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(status)).NotTo(ContainSubstring(password))
	}
}

// TestGitRepositoryBadInput gives each kind of bad input its condition.
func TestGitRepositoryBadInput(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a": "a"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CommitFiles("big", "master", map[string]string{"blob": strings.Repeat("x", testMaxCheckoutBytes+1)}, "big")
	g.Expect(err).NotTo(HaveOccurred())
	// Incompressible: the pack itself is past the limit, so the fetch stops.
	noise := make([]byte, 2*testMaxCheckoutBytes)
	_, _ = rand.Read(noise)
	_, err = srv.CommitFiles("big-pack", "master", map[string]string{"blob": string(noise)}, "big")
	g.Expect(err).NotTo(HaveOccurred())
	// A server that accepts connections and never answers: spec.timeout.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	defer hang.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	closed := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	unreachable := closed.URL("app")
	closed.Close()

	cases := []struct {
		name    string
		url     string
		ref     *sourcev1.GitRepositoryRef
		mutate  func(*sourcev1.GitRepository)
		stalled bool
		reason  string
		message string
	}{
		{name: "bad-url", url: "https://:443/app", stalled: true, reason: sourcev1.URLInvalidReason, message: "invalid URL: URL has no host"},
		{name: "ssh-without-secret", url: "ssh://git@127.0.0.1:1/app", stalled: true, reason: sourcev1.AuthenticationFailedReason, message: "SSH URLs need a secretRef"},
		{name: "bad-semver", url: srv.URL("app"), ref: &sourcev1.GitRepositoryRef{SemVer: "not-a-range"}, stalled: true, reason: sourcev1.GitOperationFailedReason, message: "invalid semver constraint"},
		{name: "missing-branch", url: srv.URL("app"), ref: &sourcev1.GitRepositoryRef{Branch: "nope"}, reason: sourcev1.GitOperationFailedReason, message: "branch 'nope' not found"},
		{name: "missing-tag", url: srv.URL("app"), ref: &sourcev1.GitRepositoryRef{Tag: "v9.9.9"}, reason: sourcev1.GitOperationFailedReason, message: "tag 'v9.9.9' not found"},
		{name: "missing-repo", url: srv.URL("nothing-here"), reason: sourcev1.GitOperationFailedReason, message: "repository not found"},
		{name: "unreachable", url: unreachable, reason: sourcev1.GitOperationFailedReason, message: "connection refused"},
		{name: "timeout", url: "http://" + hang.Addr().String() + "/app", mutate: func(o *sourcev1.GitRepository) {
			o.Spec.Timeout = &metav1.Duration{Duration: time.Second}
		}, reason: sourcev1.GitOperationFailedReason, message: "context deadline exceeded"},
		{name: "too-big", url: srv.URL("big"), reason: sourcev1.GitOperationFailedReason, message: "exceeds the size limit"},
		{name: "too-big-fetch", url: srv.URL("big-pack"), reason: sourcev1.GitOperationFailedReason, message: fmt.Sprintf("fetch stopped: the remote sent more than the size limit of %d bytes", testMaxCheckoutBytes)},
		{name: "github-without-secret", url: srv.URL("app"), mutate: func(o *sourcev1.GitRepository) {
			o.Spec.Provider = sourcev1.GitProviderGitHub
		}, stalled: true, reason: sourcev1.InvalidProviderConfigurationReason, message: "provider github needs a secretRef with the GitHub App's githubAppID"},
	}
	for _, c := range cases {
		obj := newGitRepository(ns, c.name, c.url, c.ref)
		if c.mutate != nil {
			c.mutate(obj)
		}
		g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed(), c.name)
	}
	for _, c := range cases {
		got := waitCondition(g, newGitRepository(ns, c.name, "", nil), meta.ReadyCondition, metav1.ConditionFalse, c.reason)
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(c.message), c.name)
		g.Expect(conditions.IsStalled(got)).To(Equal(c.stalled), c.name)
		g.Expect(got.Status.Artifact).To(BeNil(), c.name)
		if !c.stalled {
			g.Expect(conditions.IsTrue(got, sourcev1.FetchFailedCondition)).To(BeTrue(), c.name)
		}
	}
}
