package e2e

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

// largeFileBytes is the size of the one file of BenchmarkGitLargeFile.
const largeFileBytes = 200 << 20

// BenchmarkGitLargeFile makes a GitRepository of a repository holding one
// 200 MiB incompressible file (generated on disk at bench time) and
// measures the time to Ready and source-controller's peak RSS during the
// clone and archive: objects must stream to disk, not through memory.
func BenchmarkGitLargeFile(b *testing.B) {
	srv := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	commitLargeFile(b, srv, "large", largeFileBytes)
	pid := ctls.Get("source-controller").Proc.Pid()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		ns := createBenchNamespace(ctx, b, "gitlarge", 1)
		repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "large"},
			Spec: sourcev1.GitRepositorySpec{URL: srv.URL("large"), Interval: metav1.Duration{Duration: time.Hour},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}}
		cpu0 := resetUsage(b, pid)
		start := time.Now()
		if err := env.Client.Create(ctx, repo); err != nil {
			b.Fatal(err)
		}
		eventually(b, 5*time.Minute, "GitRepository ready", func() error { return readyStatus(ctx, repo) })
		elapsed := time.Since(start)
		peak, cpu, err := processUsage(pid)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(elapsed.Seconds(), "s-to-ready")
		b.ReportMetric(peak, "source-peak-RSS-MiB")
		b.ReportMetric(cpu-cpu0, "source-CPU-s")
		deleteNamespace(ctx, b, ns, &sourcev1.GitRepositoryList{})
		cancel()
	}
}

// commitLargeFile commits one file of size pseudo-random bytes to branch
// main of repository name with the git CLI, streaming from a file on disk
// so the benchmark process does not hold it either.
func commitLargeFile(b *testing.B, srv *testserver.GitHTTP, name string, size int64) {
	if err := srv.CreateRepo(name); err != nil {
		b.Fatal(err)
	}
	gitDir, err := srv.Path(name)
	if err != nil {
		b.Fatal(err)
	}
	data := filepath.Join(b.TempDir(), "large.bin")
	f, err := os.Create(data)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.CopyN(f, rand.NewChaCha8([32]byte{42}), size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	run := func(stdin string, args ...string) string {
		cmd := exec.Command("git", append([]string{"--git-dir", gitDir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
			"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	blob := run("", "hash-object", "-w", data)
	tree := run("100644 blob "+blob+"\tlarge.bin\n", "mktree")
	commit := run("", "commit-tree", tree, "-m", "one large file")
	run("", "update-ref", "refs/heads/main", commit)
}
