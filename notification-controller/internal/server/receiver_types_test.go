package server

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// postFull is post that also returns the answer's body.
func (h *harness) postFull(t testing.TB, url string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func bearerHeader(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// acrPush is the body Azure Container Registry documents for a push.
const acrPush = `{"id":"cb8c3971-9adc-488b-xxxx-43cbb4974ff5","timestamp":"2017-11-17T16:52:01.343145347Z","action":"push",
"target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":524,
"digest":"sha256:xxxxd5c8786bb9e621a45ece0dbxxxx1cdc624ad20da9fe62e9d25490f33xxxx","length":524,
"repository":"hello-world","tag":"v1"},
"request":{"id":"3cbb6949-7549-4fa1-xxxx-a6d5451dffc7","host":"myregistry.azurecr.io","method":"PUT",
"useragent":"docker/17.09.0-ce go/go1.8.3 git-commit/afdb6d4 kernel/4.10.0-27-generic os/linux arch/amd64 UpstreamClient(Docker-Client/17.09.0-ce \\(linux\\))"}}`

// TestReceiverACR: ACR's documented push notification annotates the
// object; spec.events filters the action; a body without a repository is
// 400.
func TestReceiverACR(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	h.create(t, secret(ns, "acr-token", map[string]string{"token": "acr-s3cr3t"}))
	h.create(t, gitRepo(ns, "app", nil))
	rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acr"},
		Spec: notificationv1.ReceiverSpec{Type: "acr", Events: []string{"push"},
			SecretRef: &meta.LocalObjectReference{Name: "acr-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}}
	url := h.receiverURL + h.readyReceiver(t, rcv)

	code, _ := h.postFull(t, url, []byte(`{"action":"push","target":{}}`), nil)
	g.Expect(code).To(Equal(http.StatusBadRequest))
	deleted := bytes.Replace([]byte(acrPush), []byte(`"action":"push"`), []byte(`"action":"delete"`), 1)
	code, msg := h.postFull(t, url, deleted, nil)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(msg).To(ContainSubstring(`event type "delete" is not selected`))
	g.Expect(requestedAt(g, ns, "app")).To(BeEmpty())

	code, _ = h.postFull(t, url, []byte(acrPush), nil)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(requestedAt(g, ns, "app")).NotTo(BeEmpty())
}

// pubsubPush wraps a registry notification in the envelope a Pub/Sub push
// subscription POSTs.
func pubsubPush(t testing.TB, action, tag string) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]string{"action": action,
		"digest": "us-east1-docker.pkg.dev/my-project/my-repo/hello-world@sha256:6ec128e26cd5",
		"tag":    tag})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"message": map[string]any{"attributes": map[string]string{}, "data": base64.StdEncoding.EncodeToString(data),
			"messageId": "2070443601311540", "publishTime": "2021-02-26T19:13:55.749Z"},
		"subscription": "projects/my-project/subscriptions/flux"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReceiverGCR: a Pub/Sub push whose OIDC token the (local) Google
// issuer signed for the secret's audience and email annotates the object;
// a token of another key, audience or email, an unverified email, an
// expired token or none is 401; a DELETE is answered without acting.
func TestReceiverGCR(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	const email, audience = "flux-push@my-project.iam.gserviceaccount.com", "https://flux.example.com/hook"
	h.create(t, secret(ns, "gcr-token", map[string]string{"token": "gcr-s3cr3t", "email": email, "audience": audience}))
	h.create(t, gitRepo(ns, "app", nil))
	rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcr"},
		Spec: notificationv1.ReceiverSpec{Type: "gcr", SecretRef: &meta.LocalObjectReference{Name: "gcr-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "app"}}}}
	url := h.receiverURL + h.readyReceiver(t, rcv)
	push := pubsubPush(t, "INSERT", "us-east1-docker.pkg.dev/my-project/my-repo/hello-world:1.1")
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"aud": audience, "azp": "1234567890", "email": email, "email_verified": true, "sub": "1234567890"}
		for k, v := range over {
			c[k] = v
		}
		return c
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	g.Expect(err).NotTo(HaveOccurred())

	refused := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"no token", nil, "no bearer token"},
		{"other key", bearerHeader(h.google.token(t, claims(nil), other)), "the token is not valid"},
		{"other audience", bearerHeader(h.google.token(t, claims(map[string]any{"aud": "https://other"}), nil)), "the token is not valid"},
		{"expired", bearerHeader(h.google.token(t, claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), nil)), "expired"},
		{"other email", bearerHeader(h.google.token(t, claims(map[string]any{"email": "x@evil.example"}), nil)), "email is not the secret's"},
		{"unverified email", bearerHeader(h.google.token(t, claims(map[string]any{"email_verified": false}), nil)), "not verified"},
		{"other issuer", bearerHeader(h.oidc.token(t, claims(nil), nil)), "the token is not valid"},
	}
	for _, tt := range refused {
		code, msg := h.postFull(t, url, push, tt.header)
		g.Expect(code).To(Equal(http.StatusUnauthorized), tt.name)
		g.Expect(msg).To(ContainSubstring(tt.want), tt.name)
	}
	g.Expect(requestedAt(g, ns, "app")).To(BeEmpty())

	good := bearerHeader(h.google.token(t, claims(nil), nil))
	code, msg := h.postFull(t, url, pubsubPush(t, "DELETE", ""), good)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(msg).To(ContainSubstring(`"DELETE" is not selected`))
	g.Expect(requestedAt(g, ns, "app")).To(BeEmpty())

	code, _ = h.postFull(t, url, push, good)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(requestedAt(g, ns, "app")).NotTo(BeEmpty())
}

// TestReceiverGenericOIDC: without a Secret the path hashes name and
// namespace; a token of a trusted issuer for the audience passes the
// variables and validations, and spec.resourceFilter over `claims` picks
// the object of the token's repository; a failed validation answers its
// message; an untrusted issuer or another audience is 401.
func TestReceiverGenericOIDC(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	h.create(t, gitRepo(ns, "d2-fleet", map[string]string{"repo": "fleet"}))
	h.create(t, gitRepo(ns, "appx", map[string]string{"repo": "appx"}))
	rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gha"},
		Spec: notificationv1.ReceiverSpec{Type: "generic-oidc",
			OIDCProviders: []notificationv1.OIDCProvider{{IssuerURL: h.oidc.URL, Audience: "flux",
				Variables: []notificationv1.OIDCVariable{{Name: "owner", Expression: "claims.repository.split('/')[0]"}},
				Validations: []notificationv1.OIDCValidation{
					{Expression: "vars.owner == 'example-org'", Message: "the repository is not example-org's"},
					{Expression: "claims.ref == 'refs/heads/main'", Message: "only main may trigger"}}}},
			ResourceFilter: "claims.repository.endsWith('/' + res.metadata.name)",
			Resources:      []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "*"}}}}
	path := h.readyReceiver(t, rcv)
	g.Expect(path).To(Equal(rcv.GetWebhookPath("")))
	url := h.receiverURL + path
	tok := func(repo, ref, aud string) map[string]string {
		return bearerHeader(h.oidc.token(t, map[string]any{"aud": aud, "sub": "repo:" + repo + ":ref:" + ref,
			"repository": repo, "ref": ref}, nil))
	}

	refused := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"other owner", tok("evil/d2-fleet", "refs/heads/main", "flux"), "the repository is not example-org's"},
		{"other ref", tok("example-org/d2-fleet", "refs/heads/dev", "flux"), "only main may trigger"},
		{"other audience", tok("example-org/d2-fleet", "refs/heads/main", "notification-controller"), "the token is not valid"},
		{"untrusted issuer", bearerHeader(h.google.token(t, map[string]any{"aud": "flux", "repository": "example-org/d2-fleet",
			"ref": "refs/heads/main"}, nil)), "not one of spec.oidcProviders"},
	}
	for _, tt := range refused {
		code, msg := h.postFull(t, url, []byte(`{}`), tt.header)
		g.Expect(code).To(Equal(http.StatusUnauthorized), tt.name)
		g.Expect(msg).To(ContainSubstring(tt.want), tt.name)
	}
	g.Expect(requestedAt(g, ns, "d2-fleet")).To(BeEmpty())

	code, msg := h.postFull(t, url, []byte(`{}`), tok("example-org/d2-fleet", "refs/heads/main", "flux"))
	g.Expect(code).To(Equal(http.StatusOK), msg)
	g.Expect(msg).To(ContainSubstring("for 1 object"))
	g.Expect(requestedAt(g, ns, "d2-fleet")).NotTo(BeEmpty())
	g.Expect(requestedAt(g, ns, "appx")).To(BeEmpty())
}

// TestReceiverResourceFilter: spec.resourceFilter over the JSON body
// (`req`) and the object (`res`) and an entry's filter are ANDed; only the
// objects passing both are annotated, and an expression failing on the
// input answers 500 naming the filter.
func TestReceiverResourceFilter(t *testing.T) {
	g := NewWithT(t)
	h := start(t)
	ns := env.NewNamespace(t)
	h.create(t, secret(ns, "tok", map[string]string{"token": "filter-s3cr3t"}))
	for _, name := range []string{"app1", "app2", "app3"} {
		h.create(t, gitRepo(ns, name, map[string]string{"registry": "gar"}))
	}
	rcv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "filtered"},
		Spec: notificationv1.ReceiverSpec{Type: "generic", SecretRef: &meta.LocalObjectReference{Name: "tok"},
			ResourceFilter: `req.tag.split('/')[3].split(':')[0].contains(res.metadata.name)`,
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "*",
				MatchLabels: map[string]string{"registry": "gar"}, Filter: "res.metadata.name != 'app3'"}}}}
	url := h.receiverURL + h.readyReceiver(t, rcv)

	// app1 and app3 match the tag; app3 is excluded by the entry's filter.
	body := []byte(`{"action":"INSERT","tag":"us-east1-docker.pkg.dev/my-project/my-repo/app1app3:v1.2.3"}`)
	code, msg := h.postFull(t, url, body, nil)
	g.Expect(code).To(Equal(http.StatusOK), msg)
	g.Expect(msg).To(ContainSubstring("for 1 object"))
	g.Expect(requestedAt(g, ns, "app1")).NotTo(BeEmpty())
	g.Expect(requestedAt(g, ns, "app2")).To(BeEmpty())
	g.Expect(requestedAt(g, ns, "app3")).To(BeEmpty())

	code, _ = h.postFull(t, url, []byte(`{"action":"INSERT"}`), nil)
	g.Expect(code).To(Equal(http.StatusInternalServerError))
	g.Expect(requestedAt(g, ns, "app2")).To(BeEmpty())
}
