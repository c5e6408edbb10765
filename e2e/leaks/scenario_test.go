package leaks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/sops/sopstest"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// Credentials with a distinctive text, so a grep for them is exact.
const (
	gitPassword      = "leak-canary-git-password-7f3a"
	gitWrongPassword = "leak-canary-git-wrongpw-7f3a"
	gitURLPassword   = "leak-canary-git-urlpw-7f3a"
	helmPassword     = "leak-canary-helm-password-7f3a"
	helmWrong        = "leak-canary-helm-wrongpw-7f3a"
	helmURLPassword  = "leak-canary-helm-urlpw-7f3a"
	ociPassword      = "leak-canary-oci-password-7f3a"
	ociWrong         = "leak-canary-oci-wrongpw-7f3a"
	ociURLPassword   = "leak-canary-oci-urlpw-7f3a"
	providerURLPass  = "leak-canary-provider-urlpw-7f3a"
	s3AccessKey      = "LEAKCANARYS3ACCESSKEY7F3A"
	s3SecretKey      = "leak-canary-s3-secret-7f3a"
	s3WrongSecret    = "leak-canary-s3-wrongsecret-7f3a"
	slackHook        = "leak-canary-slack-hook-7f3a"
	slackDeadHook    = "leak-canary-slack-deadhook-7f3a"
	providerToken    = "leak-canary-provider-token-7f3a"
	receiverToken    = "leak-canary-receiver-token-7f3a"
	sopsValue        = "leak-canary-sops-value-7f3a"
	kubeconfigToken  = "leak-canary-kubeconfig-token-7f3a"
)

// scenario is what the test set up: the credentials to grep for, the
// objects to wait for (true: Ready, false: failing) and the servers.
type scenario struct {
	canaries []string
	expect   map[string]bool // "Kind/name" → Ready wanted
	sink     *testserver.WebhookSink
	// sopsRight and sopsWrong are the age identities of the decryption Secrets.
	sopsRight, sopsWrong string
}

// canary registers a credential (and its base64 form, as a Secret's data
// holds it) to grep for.
func (s *scenario) canary(v ...string) {
	for _, c := range v {
		s.canaries = append(s.canaries, c, base64.StdEncoding.EncodeToString([]byte(c)))
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// apply server-side applies YAML documents.
func apply(ctx context.Context, t *testing.T, text string) {
	t.Helper()
	objs, err := testenv.DecodeManifests(text)
	if err != nil {
		t.Fatalf("decoding: %v\n%s", err, text)
	}
	for _, u := range objs {
		if u.GetNamespace() == "" && u.GetKind() != "ClusterRoleBinding" {
			u.SetNamespace(ns)
		}
		if err := env.Client.Patch(ctx, u, client.Apply, client.FieldOwner("gotk-leaks"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s/%s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// secret is a Secret manifest with stringData.
func secret(name, typ string, data map[string]string) string {
	b, _ := json.Marshal(data)
	if typ == "" {
		typ = "Opaque"
	}
	return fmt.Sprintf("---\napiVersion: v1\nkind: Secret\nmetadata: {name: %s}\ntype: %s\nstringData: %s\n", name, typ, b)
}

func dockerConfig(host, user, pass string) map[string]string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return map[string]string{".dockerconfigjson": fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)}
}

// setUp starts the servers and applies every object of the scenario.
func setUp(ctx context.Context, t *testing.T) *scenario {
	s := &scenario{expect: map[string]bool{}}
	s.canary(gitPassword, gitWrongPassword, gitURLPassword, helmPassword, helmWrong, helmURLPassword, ociPassword, ociWrong, ociURLPassword, providerURLPass,
		s3AccessKey, s3SecretKey, s3WrongSecret, slackHook, slackDeadHook, providerToken, receiverToken, sopsValue, kubeconfigToken)
	var docs strings.Builder
	want := func(ready bool, refs ...string) {
		for _, r := range refs {
			s.expect[r] = ready
		}
	}
	s.git(t, &docs, want)
	s.helm(t, &docs, want)
	s.oci(ctx, t, &docs, want)
	s.bucket(t, &docs, want)
	s.kustomize(ctx, t, &docs, want)
	s.notification(t, &docs)
	apply(ctx, t, docs.String())
	return s
}

// git: basic auth (a Secret's password, a password in the URL) and SSH
// (a private key), right and wrong, and an unreachable host; the
// repository also holds a SOPS-encrypted Secret for the Kustomizations.
func (s *scenario) git(t *testing.T, docs *strings.Builder, want func(bool, ...string)) {
	gh := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{Auth: testserver.BasicAuth{Username: "git", Password: gitPassword}})
	sshd := testserver.NewGitSSHForTest(t, testserver.GitSSHOptions{Repos: gh.GitRepos})
	right, wrong := s.ageKeys(t)
	plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: " + ns + "\nstringData:\n  password: " + sopsValue + "\n"
	enc, err := sopstest.Encrypt("db.yaml", []byte(plain), sopstest.Recipients{Age: []string{right.Recipient().String()}},
		sopstest.Options{EncryptedRegex: "^(data|stringData)$"})
	if err != nil {
		t.Fatal(err)
	}
	if err := gh.CreateRepo("app"); err != nil {
		t.Fatal(err)
	}
	if _, err := gh.CommitFiles("app", "main", map[string]string{
		"deploy/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaks-app\n  namespace: " + ns + "\ndata:\n  image: img # {\"$imagepolicy\": \"" + ns + ":img-policy\"}\n",
		"secrets/db.yaml":            string(enc),
		"secrets/kustomization.yaml": "resources: [db.yaml]\n",
	}, "app"); err != nil {
		t.Fatal(err)
	}
	key, err := sshd.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := testserver.GenerateClientKey()
	if err != nil {
		t.Fatal(err)
	}
	s.canary(pemBody(key.PrivateKeyPEM), pemBody(stranger.PrivateKeyPEM), right.String(), wrong.String())
	host := strings.TrimPrefix(gh.BaseURL(), "http://")
	docs.WriteString(secret("git-basic", "", map[string]string{"username": "git", "password": gitPassword}))
	docs.WriteString(secret("git-basic-wrong", "", map[string]string{"username": "git", "password": gitWrongPassword}))
	docs.WriteString(secret("git-ssh", "", map[string]string{"identity": string(key.PrivateKeyPEM), "known_hosts": sshd.KnownHostsLine()}))
	docs.WriteString(secret("git-ssh-wrong", "", map[string]string{"identity": string(stranger.PrivateKeyPEM), "known_hosts": sshd.KnownHostsLine()}))
	repo := func(name, url, secretRef string) {
		ref := ""
		if secretRef != "" {
			ref = "\n  secretRef: {name: " + secretRef + "}"
		}
		fmt.Fprintf(docs, "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  url: %s\n  ref: {branch: main}%s\n", name, url, ref)
	}
	repo("git-basic-ok", gh.URL("app"), "git-basic")
	repo("git-basic-wrong", gh.URL("app"), "git-basic-wrong")
	repo("git-url-userinfo", "http://git:"+gitURLPassword+"@"+host+"/app", "")
	repo("git-unreachable", "http://"+closedAddr(t)+"/app", "git-basic")
	repo("git-ssh-ok", sshd.URL("app"), "git-ssh")
	repo("git-ssh-wrong", sshd.URL("app"), "git-ssh-wrong")
	want(true, "GitRepository/git-basic-ok", "GitRepository/git-ssh-ok")
	want(false, "GitRepository/git-basic-wrong", "GitRepository/git-url-userinfo", "GitRepository/git-unreachable", "GitRepository/git-ssh-wrong")
}

// ageKeys are the SOPS decryption keys: the right one and a wrong one.
func (s *scenario) ageKeys(t *testing.T) (right, wrong *age.X25519Identity) {
	right, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err = age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s.sopsRight, s.sopsWrong = right.String(), wrong.String()
	return right, wrong
}

// pemBody is the longest base64 line of a PEM block: unique to the key.
func pemBody(p []byte) string {
	best := ""
	for _, l := range strings.Split(string(p), "\n") {
		if !strings.HasPrefix(l, "-----") && len(l) > len(best) {
			best = l
		}
	}
	return best
}

// helm: a repository with basic auth (Secret right and wrong, password
// in the URL, unreachable), a chart fetched with the credentials and
// two HelmReleases, one through a kubeconfig with a bad token.
func (s *scenario) helm(t *testing.T, docs *strings.Builder, want func(bool, ...string)) {
	hr := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{Auth: testserver.BasicAuth{Username: "helm", Password: helmPassword}})
	if err := hr.AddChart("leaks", "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(hr.URL(), "http://")
	docs.WriteString(secret("helm-basic", "", map[string]string{"username": "helm", "password": helmPassword}))
	docs.WriteString(secret("helm-basic-wrong", "", map[string]string{"username": "helm", "password": helmWrong}))
	repo := func(name, url, secretRef string) {
		ref := ""
		if secretRef != "" {
			ref = "\n  secretRef: {name: " + secretRef + "}"
		}
		fmt.Fprintf(docs, "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  url: %s%s\n", name, url, ref)
	}
	repo("helm-ok", hr.URL(), "helm-basic")
	repo("helm-wrong", hr.URL(), "helm-basic-wrong")
	repo("helm-url-userinfo", "http://helm:"+helmURLPassword+"@"+host, "")
	repo("helm-unreachable", "http://helm:"+helmURLPassword+"@"+closedAddr(t), "helm-basic")
	fmt.Fprintf(docs, "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: chart-ok}\nspec:\n  interval: 1m\n  chart: leaks\n  version: 1.0.0\n  sourceRef: {kind: HelmRepository, name: helm-ok}\n")
	release := func(name, kubeconfig string) {
		kc := ""
		if kubeconfig != "" {
			kc = "\n  kubeConfig:\n    secretRef: {name: " + kubeconfig + "}"
		}
		fmt.Fprintf(docs, "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: leaks\n      version: 1.0.0\n      sourceRef: {kind: HelmRepository, name: helm-ok}%s\n", name, kc)
	}
	release("release-ok", "")
	release("release-bad-kubeconfig", "kube-bogus")
	want(true, "HelmRepository/helm-ok", "HelmChart/chart-ok", "HelmRelease/release-ok")
	want(false, "HelmRepository/helm-wrong", "HelmRepository/helm-url-userinfo", "HelmRepository/helm-unreachable", "HelmRelease/release-bad-kubeconfig")
}

// oci: a registry with basic auth through dockerconfigjson Secrets, for
// an OCIRepository, and for the image scan and automation (which also
// pushes to Git with the Git credentials).
func (s *scenario) oci(ctx context.Context, t *testing.T, docs *strings.Builder, want func(bool, ...string)) {
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: "oci", Password: ociPassword}})
	auth := &authn.Basic{Username: "oci", Password: ociPassword}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-oci}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host()+"/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.PushDir(ctx, ref, dir, "v1@sha1:0000000000000000000000000000000000000000", "leaks", oci.Options{Auth: auth, Insecure: true}); err != nil {
		t.Fatal(err)
	}
	testserver.PushRandomImage(t, reg.Host()+"/img:1.0.0", auth)
	docs.WriteString(secret("oci-creds", "kubernetes.io/dockerconfigjson", dockerConfig(reg.Host(), "oci", ociPassword)))
	docs.WriteString(secret("oci-creds-wrong", "kubernetes.io/dockerconfigjson", dockerConfig(reg.Host(), "oci", ociWrong)))
	for _, c := range []struct{ name, secret string }{{"oci-ok", "oci-creds"}, {"oci-wrong", "oci-creds-wrong"}} {
		fmt.Fprintf(docs, "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  url: oci://%s/app\n  ref: {tag: v1}\n  insecure: true\n  secretRef: {name: %s}\n", c.name, reg.Host(), c.secret)
	}
	for _, c := range []struct{ name, secret string }{{"img-ok", "oci-creds"}, {"img-wrong", "oci-creds-wrong"}} {
		fmt.Fprintf(docs, "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  image: %s/img\n  insecure: true\n  secretRef: {name: %s}\n", c.name, reg.Host(), c.secret)
	}
	userinfo := "oci:" + ociURLPassword + "@" + reg.Host()
	fmt.Fprintf(docs, "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: oci-url-userinfo}\nspec:\n  interval: 1m\n  url: oci://%s/app\n  ref: {tag: v1}\n  insecure: true\n", userinfo)
	fmt.Fprintf(docs, "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: img-url-userinfo}\nspec:\n  interval: 1m\n  image: %s/img\n  insecure: true\n", userinfo)
	fmt.Fprintf(docs, "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: img-policy}\nspec:\n  imageRepositoryRef: {name: img-ok}\n  policy:\n    semver: {range: '>=1.0.0'}\n")
	for _, c := range []struct{ name, repo string }{{"auto-ok", "git-basic-ok"}, {"auto-wrong", "git-basic-wrong"}} {
		fmt.Fprintf(docs, "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  sourceRef: {kind: GitRepository, name: %s}\n  git:\n    checkout: {ref: {branch: main}}\n    commit:\n      author: {name: bot, email: bot@example.com}\n    push: {branch: main}\n  update: {path: ./deploy, strategy: Setters}\n", c.name, c.repo)
	}
	want(true, "OCIRepository/oci-ok", "ImageRepository/img-ok", "ImagePolicy/img-policy", "ImageUpdateAutomation/auto-ok")
	want(false, "OCIRepository/oci-wrong", "ImageRepository/img-wrong", "OCIRepository/oci-url-userinfo", "ImageRepository/img-url-userinfo", "ImageUpdateAutomation/auto-wrong")
}

// bucket: an S3 store with access and secret keys, right and wrong.
func (s *scenario) bucket(t *testing.T, docs *strings.Builder, want func(bool, ...string)) {
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: s3AccessKey, SecretKey: s3SecretKey})
	if err := s3.CreateBucket("app"); err != nil {
		t.Fatal(err)
	}
	if err := s3.PutObject("app", "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-s3}\n"); err != nil {
		t.Fatal(err)
	}
	docs.WriteString(secret("s3-creds", "", map[string]string{"accesskey": s3AccessKey, "secretkey": s3SecretKey}))
	docs.WriteString(secret("s3-creds-wrong", "", map[string]string{"accesskey": s3AccessKey, "secretkey": s3WrongSecret}))
	for _, c := range []struct{ name, secret string }{{"s3-ok", "s3-creds"}, {"s3-wrong", "s3-creds-wrong"}} {
		fmt.Fprintf(docs, "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  provider: generic\n  bucketName: app\n  endpoint: %s\n  insecure: true\n  secretRef: {name: %s}\n", c.name, s3.Endpoint(), c.secret)
	}
	want(true, "Bucket/s3-ok")
	want(false, "Bucket/s3-wrong")
}

// kustomize: SOPS decryption with the right and a wrong age key, and a
// kubeconfig Secret with a working ServiceAccount token and a bad one.
func (s *scenario) kustomize(ctx context.Context, t *testing.T, docs *strings.Builder, want func(bool, ...string)) {
	docs.WriteString(secret("sops-age", "", map[string]string{"identity.agekey": s.sopsRight}))
	docs.WriteString(secret("sops-age-wrong", "", map[string]string{"identity.agekey": s.sopsWrong}))
	apply(ctx, t, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: leaks-remote}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: leaks-remote}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: leaks-remote, namespace: "+ns+"}]\n")
	path := filepath.Join(t.TempDir(), "remote.kubeconfig")
	if err := env.WriteServiceAccountKubeconfig(ctx, ns, "leaks-remote", path); err != nil {
		t.Fatal(err)
	}
	kc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.canary(saToken(t, string(kc)))
	bogus := strings.Replace(string(kc), saToken(t, string(kc)), kubeconfigToken, 1)
	docs.WriteString(secret("kube-remote", "", map[string]string{"value": string(kc)}))
	docs.WriteString(secret("kube-bogus", "", map[string]string{"value": bogus}))
	ks := func(name, path, extra string) {
		fmt.Fprintf(docs, "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: %s}\nspec:\n  interval: 1m\n  path: %s\n  prune: true\n  sourceRef: {kind: GitRepository, name: git-basic-ok}\n%s", name, path, extra)
	}
	ks("ks-sops-ok", "./secrets", "  decryption:\n    provider: sops\n    secretRef: {name: sops-age}\n")
	ks("ks-sops-wrong", "./secrets", "  decryption:\n    provider: sops\n    secretRef: {name: sops-age-wrong}\n")
	ks("ks-kubeconfig-ok", "./deploy", "  kubeConfig:\n    secretRef: {name: kube-remote}\n")
	ks("ks-kubeconfig-wrong", "./deploy", "  kubeConfig:\n    secretRef: {name: kube-bogus}\n")
	want(true, "Kustomization/ks-sops-ok", "Kustomization/ks-kubeconfig-ok")
	want(false, "Kustomization/ks-sops-wrong", "Kustomization/ks-kubeconfig-wrong")
}

// saToken is the token line of a kubeconfig.
func saToken(t *testing.T, kubeconfig string) string {
	for _, l := range strings.Split(kubeconfig, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "token: "); ok {
			return v
		}
	}
	t.Fatal("no token in the kubeconfig")
	return ""
}

// notification: Slack addresses (secret: the hook path) reachable and
// not, a generic Provider with a token, Alerts on every kind, and
// Receivers with a token.
func (s *scenario) notification(t *testing.T, docs *strings.Builder) {
	s.sink = testserver.NewWebhookSinkForTest(t)
	docs.WriteString(secret("slack-address", "", map[string]string{"address": s.sink.URL() + "/services/" + slackHook}))
	docs.WriteString(secret("slack-dead", "", map[string]string{"address": "http://" + closedAddr(t) + "/services/" + slackDeadHook}))
	docs.WriteString(secret("generic-token", "", map[string]string{"address": s.sink.URL() + "/generic?token=" + providerToken, "token": providerToken}))
	docs.WriteString(secret("receiver-token", "", map[string]string{"token": receiverToken}))
	for _, p := range []struct{ name, typ, secret string }{{"slack", "slack", "slack-address"}, {"slack-dead", "slack", "slack-dead"}, {"generic", "generic", "generic-token"}} {
		fmt.Fprintf(docs, "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: %s}\nspec:\n  type: %s\n  secretRef: {name: %s}\n", p.name, p.typ, p.secret)
		fmt.Fprintf(docs, "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: {name: %s}\nspec:\n  providerRef: {name: %s}\n  eventSeverity: info\n  eventSources:\n", p.name, p.name)
		for _, k := range allKinds {
			if k.Group != "notification.toolkit.fluxcd.io" {
				fmt.Fprintf(docs, "  - {kind: %s, name: '*'}\n", k.Kind)
			}
		}
	}
	// Credentials in a Provider's own address (no Secret), unreachable.
	fmt.Fprintf(docs, "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: url-userinfo}\nspec:\n  type: generic\n  address: http://u:%s@%s/hook\n", providerURLPass, closedAddr(t))
	fmt.Fprintf(docs, "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: {name: url-userinfo}\nspec:\n  providerRef: {name: url-userinfo}\n  eventSeverity: info\n  eventSources:\n  - {kind: GitRepository, name: '*'}\n")
	for _, r := range []struct{ name, typ string }{{"rcv-generic", "generic"}, {"rcv-github", "github"}} {
		fmt.Fprintf(docs, "---\napiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata: {name: %s}\nspec:\n  type: %s\n  secretRef: {name: receiver-token}\n  resources:\n  - {kind: GitRepository, name: git-basic-ok}\n", r.name, r.typ)
	}
	s.expect["Receiver/rcv-generic"] = true
	s.expect["Receiver/rcv-github"] = true
}
