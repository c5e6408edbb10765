package controller

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// tagInImage matches the tag of the marked image line.
var tagInImage = regexp.MustCompile(`(my-app:)v[0-9.]+(  #)`)

const (
	benchRepos   = 100
	benchWorkers = automationWorkers
)

// BenchmarkAutomations100Repos measures, through the running manager, the
// time from one tag bump until 100 automations on 100 repositories have
// each pushed their commit, and reports it beside the Git server's own
// limit: 100 clone+commit+push rounds with the git CLI at the same
// concurrency.
func BenchmarkAutomations100Repos(b *testing.B) {
	ctx := context.Background()
	ns := benchNamespace(b)
	seed, err := os.ReadFile(filepath.Join(seedAppRepo, filepath.FromSlash(seedPatchPath)))
	if err != nil {
		b.Fatal(err)
	}
	patch := strings.Replace(string(seed), `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
	patch = strings.ReplaceAll(patch, "ghcr.io/myorg/my-app:v1.2.3", reg.Host()+"/"+ns+"/my-app:v1.0.0")
	for i := range benchRepos {
		for _, prefix := range []string{"auto", "base"} {
			if _, err := gitSrv.CommitFiles(fmt.Sprintf("%s/%s-%03d", ns, prefix, i), "main", map[string]string{seedPatchPath: patch}, "seed"); err != nil {
				b.Fatal(err)
			}
		}
	}

	pushImage(b, ns+"/my-app", "v1.0.0")
	must(b, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git-creds"},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)}}))
	dockerSecret(b, ns, "creds", regPassword)
	repo := newRepository(ns, "my-app", ns+"/my-app")
	must(b, env.Client.Create(ctx, repo))
	must(b, env.Client.Create(ctx, newPolicy(ns, "my-app", "my-app", semverPolicy(">=1.0.0"))))
	for i := range benchRepos {
		name := fmt.Sprintf("auto-%03d", i)
		must(b, env.Client.Create(ctx, &sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sourcev1.GitRepositorySpec{URL: gitSrv.URL(ns + "/" + name), Interval: metav1.Duration{Duration: time.Hour},
				SecretRef: &meta.LocalObjectReference{Name: "git-creds"}, Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		}))
		must(b, env.Client.Create(ctx, newAutomation(ns, name, name)))
	}
	waitAutomations(b, ns, "v1.0.0", false)

	// Each round is followed by the baseline round, so both see the same
	// load on this shared machine.
	var baseline time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		tag := fmt.Sprintf("v1.1.%d", i)
		b.StopTimer()
		pushImage(b, ns+"/my-app", tag)
		b.StartTimer()
		requestReconcile(b, repo)
		waitAutomations(b, ns, tag, true)
		b.StopTimer()
		baseline += gitCLIBaseline(b, ns, i)
		b.StartTimer()
	}
	b.StopTimer()
	perOp := b.Elapsed().Seconds() / float64(b.N)
	perBase := baseline.Seconds() / float64(b.N)
	b.ReportMetric(perBase, "git-cli-baseline-s")
	b.ReportMetric(perOp/perBase, "x-baseline")
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func benchNamespace(b *testing.B) string {
	b.Helper()
	ns := fmt.Sprintf("bench-%d", time.Now().UnixNano()%1e9)
	must(b, env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	return ns
}

// waitAutomations waits until every automation in ns has observed the tag
// (and, with pushed, pushed a commit that is its branch's head).
func waitAutomations(b *testing.B, ns, tag string, pushed bool) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		var list imagev1.ImageUpdateAutomationList
		must(b, env.Client.List(context.Background(), &list, client.InNamespace(ns)))
		done := 0
		for _, a := range list.Items {
			if a.Status.ObservedPolicies["my-app"].Tag != tag || a.Status.ObservedGeneration != a.Generation {
				continue
			}
			if pushed && (a.Status.LastPushCommit == "" || !pushedTag(b, ns, a.Name, tag)) {
				continue
			}
			done++
		}
		if done == benchRepos {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling the API server, bounded by the deadline
	}
	b.Fatalf("automations did not all reach %s within the deadline", tag)
}

// pushedTag reports whether the automation's repository has the tag on main.
func pushedTag(b *testing.B, ns, name, tag string) bool {
	dir, err := gitSrv.Path(ns + "/" + name)
	must(b, err)
	out, err := exec.Command("git", "--git-dir", dir, "show", "main:"+seedPatchPath).Output()
	return err == nil && strings.Contains(string(out), ":"+tag+"  #")
}

// gitCLIBaseline clones, changes, commits and pushes each base repository
// once with the git CLI, benchWorkers at a time, and returns the time.
func gitCLIBaseline(b *testing.B, ns string, round int) time.Duration {
	b.Helper()
	work := b.TempDir()
	jobs := make(chan int)
	errs := make(chan error, benchRepos)
	var wg sync.WaitGroup
	start := time.Now()
	for range benchWorkers {
		wg.Go(func() {
			for i := range jobs {
				errs <- cliRound(work, ns, i, round)
			}
		})
	}
	for i := range benchRepos {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		must(b, err)
	}
	return elapsed
}

func cliRound(work, ns string, i, round int) error {
	u, err := url.Parse(gitSrv.URL(fmt.Sprintf("%s/base-%03d", ns, i)))
	if err != nil {
		return err
	}
	u.User = url.UserPassword(gitUser, gitPassword)
	dir := filepath.Join(work, fmt.Sprintf("%d-%d", round, i))
	run := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", args[0], err, out)
		}
		return nil
	}
	if err := run("clone", "-q", "--depth", "1", "--branch", "main", u.String(), dir); err != nil {
		return err
	}
	file := filepath.Join(dir, filepath.FromSlash(seedPatchPath))
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	bumped := tagInImage.ReplaceAllString(string(data), fmt.Sprintf("${1}v1.1.%d${2}", round))
	if err := os.WriteFile(file, []byte(bumped), 0o644); err != nil {
		return err
	}
	if err := run("-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qam", "bump"); err != nil {
		return err
	}
	return run("-C", dir, "push", "-q", "origin", "main")
}
