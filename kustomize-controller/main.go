// Command kustomize-controller runs gotk's kustomize-controller.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/metadata"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/runtime/manager"

	"gotk.dev/kustomize-controller/internal/apply"
	"gotk.dev/kustomize-controller/internal/artifactcache"
	"gotk.dev/kustomize-controller/internal/controller"
	"gotk.dev/kustomize-controller/internal/drift"
)

const controllerName = "kustomize-controller"

// remoteBaseTimeout bounds each git command of a remote base fetch
// (kustomize's own per-command timeout, 27s unless the URL's ?timeout=
// says otherwise, is what a build waits for).
const remoteBaseTimeout = 5 * time.Minute

func main() {
	if git.InvokedAsCommand() {
		// kustomize's loader runs git for remote bases: this binary is it.
		os.Exit(git.RunCommand(os.Args[1:], os.Stderr))
	}
	var (
		opts               manager.Options
		concurrentSSA      int
		httpRetry          int
		tenancy            manager.Tenancy
		requeueDependency  time.Duration
		artifactCacheBytes int64
		sopsAgeSecret      string
		noRemoteBases      bool
		remoteBasesMaxSize int64
		customStageKinds   string
	)
	opts.BindFlags(pflag.CommandLine, controller.DefaultConcurrent, true)
	opts.SetClientDefaults(pflag.CommandLine, controller.DefaultKubeAPIQPS, controller.DefaultKubeAPIBurst)
	pflag.IntVar(&concurrentSSA, "concurrent-ssa", 4, "The number of parallel server-side apply requests per Kustomization.")
	pflag.IntVar(&httpRetry, "http-retry", 9, "The maximum number of retries when failing to fetch artifacts over HTTP.")
	tenancy.BindNoCrossNamespaceRefs(pflag.CommandLine)
	tenancy.BindServiceAccounts(pflag.CommandLine)
	tenancy.BindDecryptionServiceAccount(pflag.CommandLine)
	pflag.DurationVar(&requeueDependency, "requeue-dependency", 30*time.Second, "The interval at which failing dependencies and sources are re-checked.")
	pflag.Int64Var(&artifactCacheBytes, "artifact-cache-bytes", artifactcache.DefaultMaxBytes, "The memory bound of the cache of extracted artifacts.")
	pflag.StringVar(&sopsAgeSecret, "sops-age-secret", "", "The name of a Secret in the controller's namespace holding age keys (*.agekey) for SOPS decryption.")
	// Differs from Flux (default false): remote bases are refused unless
	// asked for, since fetching them bypasses the verified artifact.
	pflag.BoolVar(&noRemoteBases, "no-remote-bases", true, "Refuse kustomize remote bases (Git or HTTP URLs in resources); false fetches them with kustomize's own loader, anonymously over HTTP(S), with the controller's built-in git.")
	pflag.Int64Var(&remoteBasesMaxSize, "remote-bases-max-size", 256<<20, "The most one remote base clone (with its submodules) may fetch and check out, in bytes; 0 is unlimited.")
	pflag.StringVar(&customStageKinds, "custom-apply-stage-kinds", "", "Comma-separated Kind or group/Kind list applied after CRDs and Namespaces and ready before the other objects are applied (e.g. Role,rbac.authorization.k8s.io/RoleBinding).")
	pflag.Parse()
	stageKinds, err := apply.ParseStageKinds(customStageKinds)
	if err != nil {
		fmt.Fprintln(os.Stderr, controllerName+": --custom-apply-stage-kinds: "+err.Error())
		os.Exit(2)
	}
	if err := tenancy.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, controllerName+": "+err.Error())
		os.Exit(2)
	}
	if remoteBasesMaxSize < 0 {
		fmt.Fprintln(os.Stderr, controllerName+": --remote-bases-max-size must not be negative")
		os.Exit(2)
	}
	if features, err := manager.ResolveFeatureGates(controllerName, opts.FeatureGates); err == nil &&
		tenancy.DefaultDecryptionServiceAccount != "" && !features.Enabled(manager.GateObjectLevelWorkloadIdentity) {
		// As in Flux: the default decryption identity needs the gate.
		fmt.Fprintf(os.Stderr, "%s: --%s needs the %s feature gate (--feature-gates=%s=true)\n", controllerName,
			manager.FlagDefaultDecryptionServiceAccount, manager.GateObjectLevelWorkloadIdentity, manager.GateObjectLevelWorkloadIdentity)
		os.Exit(2)
	}
	if !noRemoteBases {
		// kustomize's loader runs the git program: put this binary first
		// on PATH as git, so no system git is needed (or used).
		if _, err := git.InstallCommand(git.CommandLimits{MaxBytes: remoteBasesMaxSize, Timeout: remoteBaseTimeout}); err != nil {
			fmt.Fprintln(os.Stderr, controllerName+": --no-remote-bases=false: "+err.Error())
			os.Exit(1)
		}
	}

	opts.Kinds = controller.Kinds()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(c *manager.Controller) error {
		fetcher := artifact.NewFetcher(httpRetry, 0, 0)
		fetcher.HostOverride = os.Getenv(artifact.EnvSourceControllerLocalhost)
		r := &controller.KustomizationReconciler{
			Client:                          c.Manager.GetClient(),
			APIReader:                       c.Manager.GetAPIReader(),
			AllShards:                       c.AllShards,
			Shard:                           c.Shard,
			Config:                          c.Manager.GetConfig(),
			Events:                          c.Events,
			Artifacts:                       &artifactcache.Cache{Fetcher: fetcher, MaxBytes: artifactCacheBytes},
			Builds:                          &kustomize.BuildCache{},
			ControllerName:                  controllerName,
			ConcurrentSSA:                   concurrentSSA,
			NoCrossNamespaceRefs:            tenancy.NoCrossNamespaceRefs,
			RequeueDependency:               requeueDependency,
			DefaultServiceAccount:           tenancy.DefaultServiceAccount,
			DefaultKubeConfigServiceAccount: tenancy.DefaultKubeConfigServiceAccount,
			DefaultDecryptionServiceAccount: tenancy.DefaultDecryptionServiceAccount,
			WorkloadIdentity:                c.Features.Enabled(manager.GateObjectLevelWorkloadIdentity),
			AllowRemoteBases:                !noRemoteBases,
			StrictSubstitution:              c.Features.Enabled(manager.GateStrictPostBuildSubstitutions),
			CustomStageKinds:                stageKinds,
			Drift: &drift.Watcher{
				Client:       metadata.NewForConfigOrDie(c.Manager.GetConfig()),
				Mapper:       c.Manager.GetRESTMapper(),
				FieldManager: controller.FieldManager,
			},
		}
		if sopsAgeSecret != "" {
			r.SOPSAgeSecret = client.ObjectKey{Namespace: manager.RuntimeNamespace(), Name: sopsAgeSecret}
		}
		return r.SetupWithManager(context.Background(), c.Manager, opts.ControllerOptions())
	}, &corev1.Secret{}, &corev1.ConfigMap{})
}
