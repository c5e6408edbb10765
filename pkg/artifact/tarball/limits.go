// Package tarball writes deterministic gzip tarballs of a directory tree and
// extracts untrusted ones safely.
//
// Archive produces Flux's artifact format: only regular files and
// directories, sorted, with normalised headers, so the same tree always
// yields the same bytes (and digest).
//
// Untar extracts into a destination directory and refuses anything that
// could write outside it or exhaust the machine: absolute names, ".."
// traversal, link entries, device and FIFO entries, oversized files, too
// many entries, and gzip bombs (the decompressed stream is bounded).
package tarball

// Default limits used by DefaultLimits and for zero-valued Limits fields.
const (
	DefaultMaxTotalBytes int64 = 100 << 20 // 100 MiB
	DefaultMaxFileBytes  int64 = 100 << 20 // 100 MiB
	DefaultMaxEntries          = 100_000
)

// Limits bounds what Untar accepts. A zero field takes its default value.
type Limits struct {
	// MaxTotalBytes bounds the sum of all extracted file sizes; the
	// decompressed tar stream is bounded to this plus header overhead.
	MaxTotalBytes int64
	// MaxFileBytes bounds the size of any single file.
	MaxFileBytes int64
	// MaxEntries bounds the number of tar entries (files and directories).
	MaxEntries int
	// SkipLinks makes Untar skip symlink and hardlink entries instead of
	// failing on them. Links are never created either way.
	SkipLinks bool
}

// DefaultLimits returns 100 MiB total, 100 MiB per file and 100k entries.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalBytes: DefaultMaxTotalBytes,
		MaxFileBytes:  DefaultMaxFileBytes,
		MaxEntries:    DefaultMaxEntries,
	}
}

// withDefaults fills zero (or negative) fields with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// maxStreamBytes bounds the decompressed tar stream: file content plus, per
// entry, a header block, padding and room for PAX/long-name records.
func (l Limits) maxStreamBytes() int64 {
	const perEntryOverhead = 4 << 10
	const slack = 1 << 20
	return l.MaxTotalBytes + int64(l.MaxEntries)*perEntryOverhead + slack
}
