package kubeconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env) }

const clusterAndContext = `
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"%s}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: %s
`

func TestParseRefusesWhatRunsOrReadsFiles(t *testing.T) {
	for _, tc := range []struct {
		name, cluster, user, wantErr string
	}{
		{name: "token", user: "{token: abc}"},
		{name: "exec plugin", user: "{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}", wantErr: "exec plugin"},
		{name: "auth provider", user: "{auth-provider: {name: gcp}}", wantErr: `auth provider "gcp"`},
		{name: "client cert file", user: "{client-certificate: /etc/passwd, client-key: /etc/passwd}", wantErr: "files on disk"},
		{name: "token file", user: "{tokenFile: /var/run/secrets/token}", wantErr: "files on disk"},
		{name: "CA file", cluster: ", certificate-authority: /etc/ssl/ca.pem", user: "{token: abc}", wantErr: "CA file on disk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(fmt.Sprintf(clusterAndContext, tc.cluster, tc.user)))
			if tc.wantErr == "" {
				if err != nil || cfg.Host != "https://127.0.0.1:6443" || cfg.BearerToken != "abc" {
					t.Fatalf("got %+v, %v", cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := Parse([]byte("not: [yaml")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestLoadFromSecret(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	admin, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string][]byte{
		"default-key": {"value": admin}, "yaml-key": {"value.yaml": admin}, "custom": {"config": admin}, "broken": {"value": []byte("x: [")},
	} {
		if err := env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ref        meta.SecretKeyReference
		wantReason string
	}{
		{ref: meta.SecretKeyReference{Name: "default-key"}},
		{ref: meta.SecretKeyReference{Name: "yaml-key"}},
		{ref: meta.SecretKeyReference{Name: "custom", Key: "config"}},
		{ref: meta.SecretKeyReference{Name: "custom"}, wantReason: ReasonNotFound},
		{ref: meta.SecretKeyReference{Name: "missing"}, wantReason: ReasonNotFound},
		{ref: meta.SecretKeyReference{Name: "broken"}, wantReason: ReasonInvalid},
	} {
		t.Run(tc.ref.Name+"/"+tc.ref.Key, func(t *testing.T) {
			cfg, err := Load(ctx, env.Client, ns, &meta.KubeConfigReference{SecretRef: &tc.ref}, Options{})
			if tc.wantReason != "" {
				var kerr *Error
				if !errors.As(err, &kerr) || kerr.Reason != tc.wantReason || !strings.Contains(kerr.Message, tc.ref.Name) {
					t.Fatalf("error %v, want reason %s naming the Secret", err, tc.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			remote, err := client.New(cfg, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var list corev1.NamespaceList
			if err := remote.List(ctx, &list); err != nil {
				t.Fatalf("the loaded kubeconfig does not reach the cluster: %v", err)
			}
		})
	}
}

func TestLoadGenericProviderIssuesAServiceAccountToken(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, data map[string]string) *meta.KubeConfigReference {
		if err := env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}); err != nil {
			t.Fatal(err)
		}
		return &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: name}}
	}
	gateOn := Options{WorkloadIdentity: true}
	ok := mk("ok", map[string]string{"provider": "generic", "address": env.Config.Host, "serviceAccountName": "deployer"})
	// The gate is off by default: no token is minted and the error names it.
	_, err := Load(ctx, env.Client, ns, ok, Options{})
	var gateErr *Error
	if !errors.As(err, &gateErr) || gateErr.Reason != meta.FeatureGateDisabledReason ||
		!strings.Contains(gateErr.Message, "ObjectLevelWorkloadIdentity") {
		t.Fatalf("with the gate off: error %v, want FeatureGateDisabled naming ObjectLevelWorkloadIdentity", err)
	}
	cfg, err := Load(ctx, env.Client, ns, ok, gateOn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != env.Config.Host || cfg.BearerToken == "" {
		t.Fatalf("config %s with token %d bytes", cfg.Host, len(cfg.BearerToken))
	}
	// --default-kubeconfig-service-account names the account of a
	// ConfigMap that names none.
	noSA := mk("no-sa", map[string]string{"provider": "generic", "address": env.Config.Host})
	if _, err := Load(ctx, env.Client, ns, noSA, gateOn); err == nil || !strings.Contains(err.Error(), "serviceAccountName") {
		t.Fatalf("without an account: error %v, want one naming serviceAccountName", err)
	}
	if cfg, err := Load(ctx, env.Client, ns, noSA, Options{WorkloadIdentity: true, DefaultServiceAccount: "deployer"}); err != nil || cfg.BearerToken == "" {
		t.Fatalf("with the default account: %v", err)
	}
	for _, tc := range []struct {
		name       string
		data       map[string]string
		wantReason string
	}{
		{"aws", map[string]string{"provider": "aws", "cluster": "arn:x"}, ReasonInvalid},
		{"no-provider", map[string]string{"address": env.Config.Host}, ReasonInvalid},
		{"no-address", map[string]string{"provider": "generic", "serviceAccountName": "deployer"}, ReasonInvalid},
		{"no-account", map[string]string{"provider": "generic", "address": env.Config.Host, "serviceAccountName": "nobody"}, ReasonTokenFailed},
	} {
		_, err := Load(ctx, env.Client, ns, mk(tc.name, tc.data), gateOn)
		var kerr *Error
		if !errors.As(err, &kerr) || kerr.Reason != tc.wantReason {
			t.Errorf("%s: error %v, want reason %s", tc.name, err, tc.wantReason)
		}
	}
}
