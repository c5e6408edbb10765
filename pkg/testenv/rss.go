package testenv

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// PeakRSSBytes is this process's peak resident set size (Linux VmHWM), or
// 0 where /proc is not available; benchmarks report it.
func PeakRSSBytes() int64 { return statusKB("/proc/self/status", "VmHWM:") }

// ProcessPeakRSSMiB is another process's peak RSS in MiB (0 without /proc):
// a benchmark of a program it started, such as the gotk binary. It
// counts the binary's file-backed pages, shared page cache that a big
// binary makes most of an idle process's RSS.
func ProcessPeakRSSMiB(pid int) float64 {
	return float64(statusKB("/proc/"+strconv.Itoa(pid)+"/status", "VmHWM:")) / (1 << 20)
}

// ProcessStatusMiB reads a size field of another process's
// /proc/<pid>/status in MiB, e.g. "RssFile:" (its resident pages of
// mapped files: the binary's) or "RssAnon:".
func ProcessStatusMiB(pid int, field string) float64 {
	return float64(statusKB("/proc/"+strconv.Itoa(pid)+"/status", field)) / (1 << 20)
}

// SampleAnonRSS polls another process's anonymous RSS (its heap and
// stacks: what it costs beyond the shared binary pages) every interval
// until the returned function is called, which gives the highest sample
// in MiB. Linux keeps no peak of it, hence the sampling.
func SampleAnonRSS(pid int, every time.Duration) func() float64 {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	done, result := make(chan struct{}), make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			peak = max(peak, statusKB(path, "RssAnon:"))
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		return float64(<-result) / (1 << 20)
	}
}

// statusKB reads a "Field: N kB" line of a /proc status file, in bytes.
func statusKB(status, field string) int64 {
	f, err := os.Open(status)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// PeakRSSMiB is PeakRSSBytes in MiB.
func PeakRSSMiB() float64 { return float64(PeakRSSBytes()) / (1 << 20) }

// ResetPeakRSS returns freed memory to the OS and restarts the peak count
// (Linux clear_refs), so a figure covers what follows, not the set-up or
// an earlier benchmark before it. The error says the peak could not be
// restarted (no /proc): a benchmark reporting a per-run peak must not go
// on then.
func ResetPeakRSS() error {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
