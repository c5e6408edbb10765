package testenv

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// PeakRSSBytes is this process's peak resident set size (Linux VmHWM), or
// 0 where /proc is not available; benchmarks report it.
func PeakRSSBytes() int64 { return peakRSS("/proc/self/status") }

// ProcessPeakRSSMiB is another process's peak RSS in MiB (0 without /proc):
// a benchmark of a program it started, such as the gotk binary.
func ProcessPeakRSSMiB(pid int) float64 {
	return float64(peakRSS("/proc/"+strconv.Itoa(pid)+"/status")) / (1 << 20)
}

func peakRSS(status string) int64 {
	f, err := os.Open(status)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
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
