package testenv

import (
	"flag"
	"time"
)

// The size flags of the controllers' scale benchmarks. They are defined
// once here, so every test binary built on this package accepts all of
// them and `make bench BENCH_ARGS=…` can hand one set of sizes to every
// package whose benchmarks match, whichever benchmark each flag is for.
var (
	// BenchKustomizations: kustomize-controller's BenchmarkScale.
	BenchKustomizations = flag.String("ks", "100", "BenchmarkScale: comma-separated numbers of Kustomizations (4 objects each)")
	// BenchKustomizationInterval: kustomize-controller's BenchmarkScale.
	BenchKustomizationInterval = flag.Duration("ks-interval", 10*time.Minute, "BenchmarkScale: spec.interval of the Kustomizations")
	// BenchRestart: kustomize-controller's BenchmarkScale.
	BenchRestart = flag.Bool("restart", true, "BenchmarkScale: restart the controller once all are Ready and measure until all are verified again")
	// BenchSteady: kustomize-controller's BenchmarkScale.
	BenchSteady = flag.Duration("steady", 20*time.Second, "BenchmarkScale: window of the steady-state CPU measurement after the restart (0: skip)")
	// BenchObjects: kustomize-controller's BenchmarkLargeKustomization.
	BenchObjects = flag.String("objects", "5000", "BenchmarkLargeKustomization: comma-separated numbers of objects in the one Kustomization")
	// BenchHelmReleases: helm-controller's BenchmarkHelmScale.
	BenchHelmReleases = flag.String("hrs", "100", "BenchmarkHelmScale: comma-separated numbers of HelmReleases")
	// BenchGitRepositories: source-controller's BenchmarkGitScale.
	BenchGitRepositories = flag.String("gitrepos", "1000", "BenchmarkGitScale: comma-separated numbers of GitRepositories")
	// BenchGitURLs: source-controller's BenchmarkGitScale.
	BenchGitURLs = flag.Int("git-urls", 10, "BenchmarkGitScale: the Git repositories (URLs) the GitRepositories share")
	// BenchBigFileMB: source-controller's BenchmarkGitBigFile.
	BenchBigFileMB = flag.String("bigfile-mb", "200", "BenchmarkGitBigFile: comma-separated sizes in MB of the one file of the repository")
	// BenchGitWorkers: source-controller's Git benchmarks.
	BenchGitWorkers = flag.Int("git-concurrent", 2, "BenchmarkGitScale, BenchmarkGitBigFile: the controller's workers (--concurrent)")
)
