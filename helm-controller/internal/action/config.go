// Package action runs Helm actions (one file per action) on a Helm
// configuration built from Kubernetes clients shared by every release.
package action

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	helmaction "helm.sh/helm/v4/pkg/action"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/storage"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/validation"
)

// capabilitiesTTL is how long the cluster's version and API list are
// reused before they are discovered again; Helm alone rediscovers them on
// every action, which dominates the cost of many small releases.
const capabilitiesTTL = 30 * time.Second

// FieldManager names helm-controller in the managedFields of the objects
// it creates and applies, whatever the binary is called (Helm otherwise
// takes the name of the running program).
const FieldManager = "helm-controller"

func init() { kube.ManagedFieldsManager = FieldManager }

// Client-side rate limits used when the given config sets none (the
// defaults of the controllers' --kube-api-qps and --kube-api-burst, which
// apply when the API server has no priority and fairness).
const (
	DefaultQPS   = 50
	DefaultBurst = 300
)

// Clients are the Kubernetes clients of one identity (the controller's, or
// an impersonated service account's), shared by every release and action:
// one discovery cache, one REST mapper, one clientset.
type Clients struct {
	getter    *restGetter
	factory   *cachingFactory
	clientset kubernetes.Interface

	mu       sync.Mutex
	caps     *helmcommon.Capabilities
	capsTime time.Time
}

// NewClients builds the shared clients for cfg.
func NewClients(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// client-go's own default (5 QPS) would throttle every release
		// behind one token bucket; use the controllers' flag defaults. A
		// negative QPS (the API server has priority and fairness, so the
		// controller turned client-side throttling off) stays off.
		cfg.QPS, cfg.Burst = DefaultQPS, DefaultBurst
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil)
	getter := &restGetter{cfg: cfg, discovery: cached, mapper: mapper}
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{
		getter:    getter,
		factory:   &cachingFactory{Factory: cmdutil.NewFactory(getter), clientset: clientset, dynamic: dyn, validators: map[string]validation.Schema{}},
		clientset: clientset,
	}, nil
}

// Clientset returns the shared typed clientset.
func (c *Clients) Clientset() kubernetes.Interface { return c.clientset }

// Dynamic returns the shared dynamic client.
func (c *Clients) Dynamic() dynamic.Interface { return c.factory.dynamic }

// RESTMapper returns the shared REST mapper.
func (c *Clients) RESTMapper() meta.RESTMapper { return c.getter.mapper }

// Configuration returns a Helm action configuration whose release storage
// is Helm's Secret driver in storageNamespace and whose objects default to
// releaseNamespace. It is cheap: every client in it is shared.
func (c *Clients) Configuration(storageNamespace, releaseNamespace string, log slog.Handler) (*helmaction.Configuration, error) {
	caps, err := c.capabilities()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.DiscardHandler
	}
	d := newReleaseSecrets(c.clientset.CoreV1().Secrets(storageNamespace), log)
	cfg := helmaction.NewConfiguration(helmaction.ConfigurationSetLogger(log))
	cfg.RESTClientGetter = c.getter
	cfg.Releases = storage.Init(d)
	cfg.KubeClient = newKstatusClient(c.factory, releaseNamespace, log)
	cfg.Capabilities = caps
	return cfg, nil
}

// FreshConfiguration is Configuration for a release with
// spec.persistentClient false: the cluster's capabilities are rediscovered
// now, and every step of a Helm action (each manifest build, each hook)
// gets a new discovery client and REST mapper, so objects whose kinds the
// same action just created (CRDs among a chart's templates) are found.
func (c *Clients) FreshConfiguration(storageNamespace, releaseNamespace string, log slog.Handler) (*helmaction.Configuration, error) {
	c.InvalidateCapabilities()
	cfg, err := c.Configuration(storageNamespace, releaseNamespace, log)
	if err != nil {
		return nil, err
	}
	getter := &freshGetter{cfg: c.getter.cfg}
	factory := &cachingFactory{Factory: cmdutil.NewFactory(getter), clientset: c.factory.clientset, dynamic: c.factory.dynamic,
		validators: map[string]validation.Schema{}}
	cfg.RESTClientGetter = getter
	cfg.KubeClient = newKstatusClient(factory, releaseNamespace, cfg.Logger().Handler())
	return cfg, nil
}

// freshGetter builds a new discovery client and REST mapper on every call.
type freshGetter struct{ cfg *rest.Config }

var _ genericclioptions.RESTClientGetter = (*freshGetter)(nil)

func (g *freshGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g *freshGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(g.cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return memory.NewMemCacheClient(dc), nil
}

func (g *freshGetter) ToRESTMapper() (meta.RESTMapper, error) {
	dc, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	return restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(dc), dc, nil), nil
}

// ToRawKubeConfigLoader is only consulted for a default namespace, which
// every configuration sets explicitly.
func (g *freshGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), &clientcmd.ConfigOverrides{})
}

// InvalidateCapabilities forgets the cached cluster capabilities and the
// discovery cache, e.g. after a chart installed CRDs.
func (c *Clients) InvalidateCapabilities() {
	c.mu.Lock()
	c.caps = nil
	c.mu.Unlock()
	c.getter.discovery.Invalidate()
}

func (c *Clients) capabilities() (*helmcommon.Capabilities, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.caps != nil && time.Since(c.capsTime) < capabilitiesTTL {
		return c.caps, nil
	}
	dc := c.getter.discovery
	dc.Invalidate()
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("could not get server version from Kubernetes: %w", err)
	}
	versions, err := helmaction.GetVersionSet(dc)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("could not get apiVersions from Kubernetes: %w", err)
	}
	c.caps = &helmcommon.Capabilities{
		APIVersions: versions,
		KubeVersion: helmcommon.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor},
		HelmVersion: helmcommon.DefaultCapabilities.HelmVersion,
	}
	c.capsTime = time.Now()
	return c.caps, nil
}

// restGetter hands Helm and kubectl's builder the shared config, discovery
// cache and mapper instead of building new ones per call.
type restGetter struct {
	cfg       *rest.Config
	discovery discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
}

var _ genericclioptions.RESTClientGetter = (*restGetter)(nil)

func (g *restGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g *restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.discovery, nil
}

func (g *restGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.mapper, nil }

// ToRawKubeConfigLoader is only consulted for a default namespace, which
// every configuration sets explicitly.
func (g *restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), &clientcmd.ConfigOverrides{})
}

// cachingFactory is kubectl's factory with the clients Helm asks for on
// every action built once.
type cachingFactory struct {
	cmdutil.Factory
	clientset  *kubernetes.Clientset
	dynamic    *dynamic.DynamicClient
	mu         sync.Mutex
	validators map[string]validation.Schema
}

var _ kube.Factory = (*cachingFactory)(nil)

func (f *cachingFactory) KubernetesClientSet() (*kubernetes.Clientset, error) {
	return f.clientset, nil
}

func (f *cachingFactory) DynamicClient() (dynamic.Interface, error) { return f.dynamic, nil }

func (f *cachingFactory) NewBuilder() *resource.Builder { return f.Factory.NewBuilder() }

func (f *cachingFactory) Validator(directive string) (validation.Schema, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.validators[directive]; ok {
		return v, nil
	}
	v, err := f.Factory.Validator(directive)
	if err != nil {
		return nil, err
	}
	f.validators[directive] = &firstPerKind{next: v}
	return f.validators[directive], nil
}
