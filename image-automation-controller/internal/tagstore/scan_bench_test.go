package tagstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gotk.dev/image-automation-controller/internal/tagstore"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// BenchmarkScan20kTags measures one full scan of a repository holding
// 20,000 tags: paginated listing, exclusion filtering and the durable store
// write. The registry runs in a child process so that the reported peak RSS
// (VmHWM) and heap per scan are the scanner's alone.
func BenchmarkScan20kTags(b *testing.B) {
	const n = 20000
	host := startRegistryProcess(b)
	repo, err := oci.ParseRepository(host+"/bench/app", true)
	if err != nil {
		b.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(repo.Tag("seed"), img); err != nil {
		b.Fatal(err)
	}
	desc, err := remote.Get(repo.Tag("seed"))
	if err != nil {
		b.Fatal(err)
	}
	// Tag the one manifest 20k times; a few pushers in parallel keep setup short.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n-1; i += 4 {
				tag := fmt.Sprintf("main-%07d", i)
				if i%10 == 0 {
					tag += ".sig" // excluded by the default list
				}
				if err := remote.Tag(repo.Tag(tag), desc); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	x, _ := oci.CompileExclusions(imagev1.DefaultExclusionList)
	store, err := tagstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	// Reset the peak RSS so VmHWM covers the scans, not the tag pushing
	// above (Linux only; elsewhere the figure includes the setup).
	testenv.ResetPeakRSS()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		res, err := oci.Scan(context.Background(), repo, oci.Options{}, x)
		if err != nil {
			b.Fatal(err)
		}
		if res.Listed != n {
			b.Fatalf("listed %d tags, want %d", res.Listed, n)
		}
		if err := store.Set("bench", "app", res.Tags); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "heap-MiB/scan")
	if hwm := testenv.PeakRSSMiB(); hwm > 0 {
		b.ReportMetric(hwm, "peak-RSS-MiB")
	}
}

// registryHelperEnv makes the test binary serve a registry (see TestMain).
const registryHelperEnv = "IMAGE_AUTOMATION_REGISTRY_HELPER"

// startRegistryProcess runs the test binary as a registry in a child
// process and returns the registry's host; the child exits when the
// benchmark ends.
func startRegistryProcess(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), registryHelperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	host, ok := strings.CutPrefix(strings.TrimSpace(line), "registry ")
	if err != nil || !ok {
		b.Fatalf("registry helper: %q, %v", line, err)
	}
	return host
}

// TestMain serves the registry of BenchmarkScan20kTags when started by it
// as a child process, and otherwise runs the package's tests.
func TestMain(m *testing.M) {
	if os.Getenv(registryHelperEnv) != "1" {
		os.Exit(m.Run())
	}
	reg, err := testserver.NewRegistry(testserver.RegistryOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer reg.Close()
	fmt.Printf("registry %s\n", reg.Host())
	_, _ = io.Copy(io.Discard, os.Stdin) // serve until the parent closes stdin
}
