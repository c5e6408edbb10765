// Command helm-controller runs gotk's helm-controller.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/runtime/manager"

	"gotk.dev/helm-controller/internal/action"
	"gotk.dev/helm-controller/internal/chart"
	"gotk.dev/helm-controller/internal/controller"
)

const controllerName = "helm-controller"

func main() {
	var (
		opts              manager.Options
		httpRetry         int
		httpTimeout       time.Duration
		chartCacheSize    int
		dependencyRequeue time.Duration
		tenancy           manager.Tenancy
	)
	opts.BindFlags(pflag.CommandLine, 10, true)
	pflag.IntVar(&httpRetry, "http-retry", 9, "The maximum number of retries when fetching chart artifacts.")
	pflag.DurationVar(&httpTimeout, "http-timeout", 30*time.Second, "The timeout of each chart artifact download.")
	pflag.IntVar(&chartCacheSize, "chart-cache-size", chart.DefaultCacheSize, "The number of loaded charts kept in memory, by artifact digest.")
	pflag.DurationVar(&dependencyRequeue, "requeue-dependency", controller.DefaultDependencyRequeue, "The wait before checking a dependency or chart source again.")
	tenancy.BindNoCrossNamespaceRefs(pflag.CommandLine)
	tenancy.BindServiceAccounts(pflag.CommandLine)
	pflag.Parse()
	if err := tenancy.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, controllerName+": "+err.Error())
		os.Exit(2)
	}

	// Secrets and ConfigMaps (values, Helm storage) are read from the API
	// server rather than cached: the controller needs few of them.
	opts.Kinds = controller.Kinds()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(c *manager.Controller) error {
		fetcher := artifact.NewFetcher(httpRetry, httpTimeout, artifact.DefaultMaxDownloadBytes)
		fetcher.HostOverride = os.Getenv(artifact.EnvSourceControllerLocalhost)
		clients, err := action.NewClients(c.Manager.GetConfig())
		if err != nil {
			return err
		}
		r := &controller.HelmReleaseReconciler{
			Client:                          c.Manager.GetClient(),
			AllShards:                       c.AllShards,
			Shard:                           c.Shard,
			Events:                          c.Events,
			Clients:                         clients,
			Charts:                          chart.NewLoader(fetcher, chartCacheSize),
			DependencyRequeue:               dependencyRequeue,
			ImpersonationClients:            action.NewImpersonator(c.Manager.GetConfig()).Clients,
			Remotes:                         action.NewRemotes(),
			NoCrossNamespaceRefs:            tenancy.NoCrossNamespaceRefs,
			DefaultServiceAccount:           tenancy.DefaultServiceAccount,
			DefaultKubeConfigServiceAccount: tenancy.DefaultKubeConfigServiceAccount,
			WorkloadIdentity:                c.Features.Enabled(manager.GateObjectLevelWorkloadIdentity),
			DriftDefault: controller.DriftDefault(c.Features.Enabled(manager.GateDetectDrift),
				c.Features.Enabled(manager.GateCorrectDrift)),
		}
		return r.SetupWithManager(context.Background(), c.Manager, opts.ControllerOptions())
	}, &corev1.Secret{}, &corev1.ConfigMap{})
}
