package manager

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// parseGates binds the shared flags on a fresh flag set and parses args.
func parseGates(args ...string) (Options, error) {
	var o Options
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.BindFlags(fs, 1, true)
	return o, fs.Parse(args)
}

// TestFeatureGatesResolve: gates gotk implements switch, a gate set to
// what gotk does is accepted, the rest are refused naming gate and
// controller.
func TestFeatureGatesResolve(t *testing.T) {
	for _, tc := range []struct {
		name       string
		controller string
		args       []string
		want       map[string]bool // gates checked in the result
		err        string
	}{
		{name: "no flag: the defaults", controller: "kustomize-controller",
			want: map[string]bool{GateStrictPostBuildSubstitutions: false, GateCacheSecretsAndConfigMaps: false, GateDisableFailFastBehavior: false}},
		{name: "implemented gate switches", controller: "source-controller", args: []string{"--feature-gates=CacheSecretsAndConfigMaps=true"},
			want: map[string]bool{GateCacheSecretsAndConfigMaps: true}},
		{name: "default value accepted", controller: "kustomize-controller",
			args: []string{"--feature-gates=StrictPostBuildSubstitutions=false,DisableFailFastBehavior=false,ObjectLevelWorkloadIdentity=false"},
			want: map[string]bool{GateStrictPostBuildSubstitutions: false, GateDisableFailFastBehavior: false}},
		{name: "implemented non-default", controller: "kustomize-controller", args: []string{"--feature-gates=StrictPostBuildSubstitutions=true"},
			want: map[string]bool{GateStrictPostBuildSubstitutions: true}},
		{name: "drift gates", controller: "helm-controller", args: []string{"--feature-gates=DetectDrift=true,CorrectDrift=true"},
			want: map[string]bool{GateDetectDrift: true, GateCorrectDrift: true}},
		{name: "not implemented", controller: "kustomize-controller", args: []string{"--feature-gates=DisableFailFastBehavior=true"},
			err: "feature gate DisableFailFastBehavior is not implemented by gotk"},
		{name: "workload identity where tokens are minted", controller: "helm-controller", args: []string{"--feature-gates=ObjectLevelWorkloadIdentity=true"},
			want: map[string]bool{GateObjectLevelWorkloadIdentity: true}},
		{name: "workload identity off by default", controller: "kustomize-controller",
			want: map[string]bool{GateObjectLevelWorkloadIdentity: false}},
		{name: "workload identity for cloud Providers", controller: "notification-controller", args: []string{"--feature-gates=ObjectLevelWorkloadIdentity=true"},
			want: map[string]bool{GateObjectLevelWorkloadIdentity: true}},
		{name: "gate of another controller", controller: "notification-controller", args: []string{"--feature-gates=DetectDrift=true"},
			err: "feature gate DetectDrift is unknown to notification-controller"},
		{name: "unknown gate", controller: "helm-controller", args: []string{"--feature-gates=NoSuchGate=true"},
			err: "feature gate NoSuchGate is unknown to helm-controller (it knows AdditiveCELDependencyCheck, AdoptLegacyReleases,"},
		{name: "first bad gate in name order", controller: "source-controller", args: []string{"--feature-gates=Zeta=true,Alpha=true"},
			err: "feature gate Alpha is unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			o, err := parseGates(tc.args...)
			g.Expect(err).NotTo(HaveOccurred())
			f, err := ResolveFeatureGates(tc.controller, o.FeatureGates)
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			for gate, want := range tc.want {
				g.Expect(f.Enabled(gate)).To(Equal(want), gate)
			}
		})
	}
}

// TestFeatureGatesFlagSyntax: --feature-gates takes Name=bool pairs, as
// in Flux; anything else fails the flag parse.
func TestFeatureGatesFlagSyntax(t *testing.T) {
	for _, arg := range []string{"--feature-gates=CacheSecretsAndConfigMaps", "--feature-gates=CacheSecretsAndConfigMaps=yes-please"} {
		_, err := parseGates(arg)
		NewWithT(t).Expect(err).To(HaveOccurred(), arg)
	}
}

// TestFeatureGatesTable: every controller accepts the cache gate and
// workload identity (switchable: each mints tokens for some objects),
// and no controller lists a gate twice.
func TestFeatureGatesTable(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ControllerGates).To(HaveLen(5))
	for controller, gates := range ControllerGates {
		seen := map[string]bool{}
		for _, gate := range gates {
			g.Expect(seen[gate.Name]).To(BeFalse(), "%s lists %s twice", controller, gate.Name)
			seen[gate.Name] = true
		}
		g.Expect(gates).To(ContainElement(cacheSecrets), controller)
		g.Expect(gates).To(ContainElement(tokenMinting), controller)
	}
}

// TestFeatureGatesCacheable: the cache gate takes Secrets and ConfigMaps
// out of the uncached kinds and nothing else.
func TestFeatureGatesCacheable(t *testing.T) {
	g := NewWithT(t)
	uncached := []client.Object{&corev1.Secret{}, &corev1.ServiceAccount{}, &corev1.ConfigMap{}}
	g.Expect(Features{}.cacheable(uncached)).To(Equal(uncached))
	g.Expect(Features{GateCacheSecretsAndConfigMaps: true}.cacheable(uncached)).To(Equal([]client.Object{&corev1.ServiceAccount{}}))
	g.Expect(uncached).To(HaveLen(3), "the caller's list is left alone")
}

// TestFeatureGatesCacheSecretsAndConfigMaps runs New's manager against the
// API server and counts the requests of three Secret reads: one GET each
// without the gate; none with it, the informer's list and watch of the
// collection instead.
func TestFeatureGatesCacheSecretsAndConfigMaps(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"},
		StringData: map[string]string{"token": "t"}})).To(Succeed())
	for _, tc := range []struct {
		gates  string
		gets   int
		cached bool
	}{
		{gates: "", gets: 3},
		{gates: "CacheSecretsAndConfigMaps=false", gets: 3},
		{gates: "CacheSecretsAndConfigMaps=true", gets: 0, cached: true},
	} {
		t.Run("gates="+tc.gates, func(t *testing.T) {
			g := NewWithT(t)
			o, err := parseGates("--metrics-addr=0", "--health-addr=0", "--feature-gates="+tc.gates)
			g.Expect(err).NotTo(HaveOccurred())
			var gets, collection atomic.Int32
			o.config = rest.CopyConfig(env.Config)
			o.config.Wrap(func(rt http.RoundTripper) http.RoundTripper {
				return roundTripper(func(req *http.Request) (*http.Response, error) {
					if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/secrets/creds") {
						gets.Add(1)
					}
					if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/secrets") {
						collection.Add(1) // a list, or a watch (streaming the list)
					}
					return rt.RoundTrip(req)
				})
			})
			c, err := New("source-controller", env.Scheme, o, &corev1.Secret{}, &corev1.ConfigMap{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c.Features.Enabled(GateCacheSecretsAndConfigMaps)).To(Equal(tc.cached))
			mctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = c.Manager.Start(mctx) }()
			defer func() { cancel(); <-done }()
			g.Expect(c.Manager.GetCache().WaitForCacheSync(mctx)).To(BeTrue())

			for range 3 {
				var s corev1.Secret
				g.Expect(c.Manager.GetClient().Get(mctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &s)).To(Succeed())
				g.Expect(s.Data).To(HaveKey("token"))
			}
			g.Expect(int(gets.Load())).To(Equal(tc.gets), "GETs of the Secret")
			g.Expect(collection.Load() > 0).To(Equal(tc.cached), "list or watch of Secrets")
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func TestTenancyValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "unset"},
		{name: "names", args: []string{"--default-service-account=default", "--default-kubeconfig-service-account=kube"}},
		{name: "bad name", args: []string{"--default-service-account=Not_A_Name"}, wantErr: "--default-service-account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tn Tenancy
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			tn.BindNoCrossNamespaceRefs(fs)
			tn.BindServiceAccounts(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := tn.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
