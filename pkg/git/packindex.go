package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// Why this file: go-git v5's Parser, which its filesystem storage runs to
// index a fetched pack, inflates every object into memory once more to
// resolve deltas, so one 200 MB file costs 200 MB of heap. indexPack
// builds the same .idx from go-git's own Scanner, idxfile.Writer and
// PatchDelta, hashing whole objects as streams; only delta chains (small
// in practice: Git deltifies similar, mostly text, objects) are held in
// memory.

// deltaCacheBytes bounds the resolved delta bases kept while indexing.
const deltaCacheBytes = 16 << 20

// pendingDelta is a delta object seen in the first pass.
type pendingDelta struct {
	offset int64
	crc    uint32
}

// indexPack reads the packfile f (from its start) and returns its index.
func indexPack(f billy.File) (*idxfile.MemoryIndex, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	s := packfile.NewScanner(f)
	_, count, err := s.Header()
	if err != nil {
		return nil, err
	}
	w := new(idxfile.Writer)
	if err := w.OnHeader(count); err != nil {
		return nil, err
	}
	ix := &packIndexer{scanner: s, byOffset: map[int64]plumbing.ObjectType{}, cache: map[int64][]byte{}, hashes: map[plumbing.Hash]int64{}}
	var deltas []pendingDelta
	for range count {
		oh, err := s.NextObjectHeader()
		if err != nil {
			return nil, err
		}
		if oh.Type.IsDelta() {
			_, crc, err := s.NextObject(io.Discard)
			if err != nil {
				return nil, err
			}
			deltas = append(deltas, pendingDelta{oh.Offset, crc})
			continue
		}
		h := plumbing.NewHasher(oh.Type, oh.Length)
		_, crc, err := s.NextObject(&h)
		if err != nil {
			return nil, err
		}
		sum := h.Sum()
		ix.byOffset[oh.Offset] = oh.Type
		ix.hashes[sum] = oh.Offset
		w.Add(sum, uint64(oh.Offset), crc)
	}
	checksum, err := s.Checksum()
	if err != nil {
		return nil, err
	}
	// Then, seeking: resolve each delta against its base. A REF delta may
	// name a base that is itself a delta resolved later, so the deltas
	// whose base is not known yet are tried again until a round resolves
	// none.
	for len(deltas) > 0 {
		var later []pendingDelta
		for _, d := range deltas {
			t, content, err := ix.object(d.offset, 0)
			if errors.Is(err, errBaseNotYetKnown) {
				later = append(later, d)
				continue
			}
			if err != nil {
				return nil, err
			}
			h := plumbing.ComputeHash(t, content)
			ix.hashes[h] = d.offset
			w.Add(h, uint64(d.offset), d.crc)
		}
		if len(later) == len(deltas) {
			return nil, fmt.Errorf("%d delta objects name bases that are not in the pack", len(later))
		}
		deltas = later
	}
	if err := w.OnFooter(checksum); err != nil {
		return nil, err
	}
	return w.Index()
}

type packIndexer struct {
	scanner    *packfile.Scanner
	byOffset   map[int64]plumbing.ObjectType // non-delta objects
	hashes     map[plumbing.Hash]int64       // for REF deltas
	cache      map[int64][]byte
	cacheBytes int
}

// errBaseNotYetKnown is a REF delta whose base has not been hashed yet.
var errBaseNotYetKnown = errors.New("base not indexed yet")

// maxDeltaDepth is far beyond what git writes (50) and stops a loop.
const maxDeltaDepth = 1000

// object returns the type and inflated content of the object at offset,
// applying deltas.
func (ix *packIndexer) object(offset int64, depth int) (plumbing.ObjectType, []byte, error) {
	if depth > maxDeltaDepth {
		return 0, nil, fmt.Errorf("delta chain at offset %d is too deep", offset)
	}
	oh, err := ix.scanner.SeekObjectHeader(offset)
	if err != nil {
		return 0, nil, err
	}
	var buf bytes.Buffer
	if _, _, err := ix.scanner.NextObject(&buf); err != nil {
		return 0, nil, err
	}
	if !oh.Type.IsDelta() {
		return oh.Type, buf.Bytes(), nil
	}
	base := oh.OffsetReference
	if oh.Type == plumbing.REFDeltaObject {
		var ok bool
		if base, ok = ix.hashes[oh.Reference]; !ok {
			return 0, nil, fmt.Errorf("delta base %s: %w", oh.Reference, errBaseNotYetKnown)
		}
	}
	t, src, ok := ix.cached(base)
	if !ok {
		if t, src, err = ix.object(base, depth+1); err != nil {
			return 0, nil, err
		}
		ix.remember(base, t, src)
	}
	out, err := packfile.PatchDelta(src, buf.Bytes())
	return t, out, err
}

func (ix *packIndexer) cached(offset int64) (plumbing.ObjectType, []byte, bool) {
	b, ok := ix.cache[offset]
	if !ok {
		return 0, nil, false
	}
	return ix.byOffset[offset], b, true
}

// remember keeps a delta base until the cache budget is spent.
func (ix *packIndexer) remember(offset int64, t plumbing.ObjectType, content []byte) {
	if ix.cacheBytes+len(content) > deltaCacheBytes {
		return
	}
	ix.cache[offset] = content
	ix.cacheBytes += len(content)
	ix.byOffset[offset] = t
}
