// Command source-controller runs gotk's source-controller: it turns Git,
// OCI, Helm and S3 sources into artifacts served over HTTP.
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
	gotkmanager "gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/controller"
	"gotk.dev/source-controller/internal/cosign"
	"gotk.dev/source-controller/internal/helm"
)

const controllerName = "source-controller"

func main() {
	var (
		opts             gotkmanager.Options
		storagePath      string
		storageAddr      string
		storageAdvAddr   string
		retentionRecords int
		retentionTTL     time.Duration
		gitOpts          controller.GitRepositoryOptions
		helmIndexMax     int64
		helmChartMax     int64
		helmFileMax      int64
		helmCacheTTL     time.Duration
		bucketMax        int64
		sigstoreRoot     string
		tenancy          gotkmanager.Tenancy
	)
	opts.BindFlags(pflag.CommandLine, 2, true)
	pflag.StringVar(&storagePath, "storage-path", "/data", "The local storage path.")
	pflag.StringVar(&storageAddr, "storage-addr", ":9090", "The address the static file server binds to.")
	pflag.StringVar(&storageAdvAddr, "storage-adv-addr", envOr("STORAGE_ADV_ADDR", ""), "The advertised address of the static file server.")
	pflag.IntVar(&retentionRecords, "artifact-retention-records", 2, "The number of artifacts kept per object.")
	pflag.DurationVar(&retentionTTL, "artifact-retention-ttl", time.Minute, "How long a superseded artifact is kept.")
	pflag.StringVar(&gitOpts.CacheDir, "git-cache-path", "", "The directory of shared Git checkouts, cleared on start (default: a new directory under the system temporary directory).")
	pflag.IntVar(&gitOpts.CacheEntries, "git-cache-entries", 32, "How many Git checkouts are kept for reuse by GitRepositories on the same URL and commit.")
	pflag.Int64Var(&gitOpts.CacheMaxBytes, "git-cache-max-size", 2<<30, "The total size in bytes of the Git checkouts kept for reuse (0: bounded by --git-cache-entries only); a larger checkout is kept only while in use.")
	pflag.DurationVar(&gitOpts.RefCacheTTL, "git-ref-cache-ttl", 2*time.Second, "How long a remote ref listing is reused by GitRepositories on the same URL and credentials.")
	pflag.Int64Var(&gitOpts.MaxCheckoutBytes, "git-max-checkout-size", 1<<30, "The largest Git checkout in bytes a GitRepository may fetch: a fetch stops once the remote has sent more, and checked-out files may not exceed it (0: no limit).")
	pflag.Int64Var(&helmIndexMax, "helm-index-max-size", controller.DefaultHelmIndexMaxSize, "The largest Helm repository index in bytes.")
	pflag.Int64Var(&helmChartMax, "helm-chart-max-size", controller.DefaultHelmChartMaxSize, "The largest packaged Helm chart in bytes.")
	pflag.Int64Var(&helmFileMax, "helm-chart-file-max-size", controller.DefaultHelmChartFileMaxSize, "The largest file in a Helm chart in bytes.")
	pflag.DurationVar(&helmCacheTTL, "helm-cache-ttl", 15*time.Minute, "How long a parsed Helm repository index is kept in memory after its last use.")
	pflag.Int64Var(&bucketMax, "bucket-max-size", controller.DefaultBucketMaxSize, "The most bytes a Bucket artifact may download.")
	pflag.StringVar(&sigstoreRoot, "sigstore-trusted-root", "", "The path of a Sigstore trusted_root.json (Fulcio CAs, Rekor logs, timestamp authorities) for keyless cosign verification of objects that name no verify.trustedRootSecretRef, e.g. a private Sigstore instance's (default: the public Sigstore trusted root, fetched through its TUF repository on first use).")
	// Flux's source-watcher flag: it applies to ArtifactGenerator sources.
	tenancy.BindNoCrossNamespaceRefs(pflag.CommandLine)
	pflag.Parse()
	if sigstoreRoot != "" {
		cosign.SetDefaultTrustedRoot(sigstoreRoot)
		if _, err := cosign.DefaultTrustedRoot(); err != nil {
			fmt.Fprintln(os.Stderr, controllerName+": --sigstore-trusted-root: "+err.Error())
			os.Exit(2)
		}
	}

	opts.Kinds = controller.Kinds()
	gotkmanager.Run(controllerName, apis.MustNewScheme(), opts, func(c *gotkmanager.Controller) error {
		if storageAdvAddr == "" {
			host, _ := os.Hostname()
			storageAdvAddr = host + storageAddr
		}
		storage, err := artifact.NewStorage(storagePath, storageAdvAddr, retentionRecords, retentionTTL)
		if err != nil {
			return err
		}
		server := &artifactServer{addr: storageAddr, storage: storage}
		if err := c.Manager.Add(server); err != nil {
			return err
		}
		// A standby is not ready: its storage is empty (see artifactServer).
		if err := c.ReadyWhenLeading(server.serving); err != nil {
			return err
		}
		name, co := controllerName, opts.ControllerOptions()
		if err := setupGitRepository(c, storage, gitOpts, co); err != nil {
			return err
		}
		if err := controller.SetupOCIRepository(c.Manager, c.Events, storage,
			controller.OCIRepositoryOptions{ControllerName: name, ControllerOptions: co,
				WorkloadIdentity: c.Features.Enabled(gotkmanager.GateObjectLevelWorkloadIdentity)}); err != nil {
			return err
		}
		if err := controller.SetupHelmRepository(c.Manager, c.Events, storage,
			controller.HelmRepositoryOptions{ControllerName: name, ControllerOptions: co, IndexMaxSize: helmIndexMax}); err != nil {
			return err
		}
		if err := controller.SetupHelmChart(c.Manager, c.Events, storage, controller.HelmChartOptions{ControllerName: name, ControllerOptions: co, Shard: c.Shard,
			ChartMaxSize: helmChartMax, ChartFileMaxSize: helmFileMax, IndexCache: &helm.IndexCache{TTL: helmCacheTTL}}); err != nil {
			return err
		}
		if err := controller.SetupBucket(c.Manager, c.Events, storage, controller.BucketOptions{ControllerName: name, ControllerOptions: co, MaxSize: bucketMax,
			WorkloadIdentity: c.Features.Enabled(gotkmanager.GateObjectLevelWorkloadIdentity)}); err != nil {
			return err
		}
		// Flux's source-watcher kind, served from this controller's storage.
		return controller.SetupArtifactGenerator(c.Manager, c.Events, storage, controller.ArtifactGeneratorOptions{ControllerName: name, ControllerOptions: co,
			NoCrossNamespaceRefs: tenancy.NoCrossNamespaceRefs})
	}, &corev1.Secret{}, &corev1.ConfigMap{}, &corev1.ServiceAccount{})
}

// setupGitRepository wires the GitRepository reconciler to the storage.
func setupGitRepository(c *gotkmanager.Controller, storage *artifact.Storage, o controller.GitRepositoryOptions, co reconcile.ControllerOptions) error {
	o.ControllerName = controllerName
	o.ControllerOptions = co
	o.Shard = c.Shard
	o.WorkloadIdentity = c.Features.Enabled(gotkmanager.GateObjectLevelWorkloadIdentity)
	_, err := controller.SetupGitRepository(context.Background(), c.Manager, c.Events, storage, o)
	return err
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
