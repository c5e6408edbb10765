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
	"gotk.dev/pkg/runtime/manager"

	"gotk.dev/kustomize-controller/internal/apply"
	"gotk.dev/kustomize-controller/internal/artifactcache"
	"gotk.dev/kustomize-controller/internal/controller"
	"gotk.dev/kustomize-controller/internal/drift"
)

const controllerName = "kustomize-controller"

func main() {
	var (
		opts                  manager.Options
		concurrentSSA         int
		httpRetry             int
		noCrossNamespaceRefs  bool
		requeueDependency     time.Duration
		defaultServiceAccount string
		artifactCacheBytes    int64
		sopsAgeSecret         string
		noRemoteBases         bool
		customStageKinds      string
	)
	opts.BindFlags(pflag.CommandLine, 10, true)
	pflag.IntVar(&concurrentSSA, "concurrent-ssa", 4, "The number of parallel server-side apply requests per Kustomization.")
	pflag.IntVar(&httpRetry, "http-retry", 9, "The maximum number of retries when failing to fetch artifacts over HTTP.")
	pflag.BoolVar(&noCrossNamespaceRefs, "no-cross-namespace-refs", false, "When set, references between objects in different namespaces are refused.")
	pflag.DurationVar(&requeueDependency, "requeue-dependency", 30*time.Second, "The interval at which failing dependencies and sources are re-checked.")
	pflag.StringVar(&defaultServiceAccount, "default-service-account", "", "The service account impersonated when a Kustomization names none.")
	pflag.Int64Var(&artifactCacheBytes, "artifact-cache-bytes", artifactcache.DefaultMaxBytes, "The memory bound of the cache of extracted artifacts.")
	pflag.StringVar(&sopsAgeSecret, "sops-age-secret", "", "The name of a Secret in the controller's namespace holding age keys (*.agekey) for SOPS decryption.")
	pflag.BoolVar(&noRemoteBases, "no-remote-bases", true, "Refuse kustomize remote bases (Git or HTTP URLs in resources); only true is supported.")
	pflag.StringVar(&customStageKinds, "custom-apply-stage-kinds", "", "Comma-separated Kind or group/Kind list applied after CRDs and Namespaces and ready before the other objects are applied (e.g. Role,rbac.authorization.k8s.io/RoleBinding).")
	pflag.Parse()
	stageKinds, err := apply.ParseStageKinds(customStageKinds)
	if err != nil {
		fmt.Fprintln(os.Stderr, controllerName+": --custom-apply-stage-kinds: "+err.Error())
		os.Exit(2)
	}
	if !noRemoteBases {
		// Builds run in memory over the verified artifact only; fetching
		// remote bases (git, disk checkout, network) is not supported yet.
		fmt.Fprintln(os.Stderr, controllerName+": --no-remote-bases=false is not supported yet: vendor remote bases into the source")
		os.Exit(2)
	}

	opts.Kinds = controller.Kinds()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(c *manager.Controller) error {
		fetcher := artifact.NewFetcher(httpRetry, 0, 0)
		fetcher.HostOverride = os.Getenv(artifact.EnvSourceControllerLocalhost)
		r := &controller.KustomizationReconciler{
			Client:                c.Manager.GetClient(),
			APIReader:             c.Manager.GetAPIReader(),
			AllShards:             c.AllShards,
			Config:                c.Manager.GetConfig(),
			Events:                c.Events,
			Artifacts:             &artifactcache.Cache{Fetcher: fetcher, MaxBytes: artifactCacheBytes},
			ControllerName:        controllerName,
			ConcurrentSSA:         concurrentSSA,
			NoCrossNamespaceRefs:  noCrossNamespaceRefs,
			RequeueDependency:     requeueDependency,
			DefaultServiceAccount: defaultServiceAccount,
			StrictSubstitution:    c.Features.Enabled(manager.GateStrictPostBuildSubstitutions),
			CustomStageKinds:      stageKinds,
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
