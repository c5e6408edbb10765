package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Paths and the user every image shares.
const (
	// CABundlePath is where Go's crypto/x509 looks first on Linux.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// UID and GID of the nonroot user the images run as (distroless's
	// "nonroot"), also in /etc/passwd and /etc/group.
	UID = 65532
	GID = 65532
	// User is the config User of every image.
	User = "65532:65532"
	// Home is the nonroot user's home directory.
	Home = "/home/nonroot"
)

// entry is one file or directory of a layer.
type entry struct {
	name     string // absolute path in the image
	mode     int64  // permission bits (plus sticky)
	dir      bool
	uid, gid int
	data     []byte // file content, for small files
	file     string // or a file on disk, streamed (the binary)
	size     int64
}

// writeLayer writes entries as a gzip-compressed tar to path with
// normalised headers: sorted names, USTAR (no access or change times, no
// extended attributes), the given modification time, numeric owners
// without user or group names. The same entries
// and time always give the same bytes, so the layer digest is reproducible.
func writeLayer(path string, entries []entry, mtime time.Time) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// gzip without a name or a time in its header; a fixed level keeps the
	// compressed bytes (and so the layer digest) stable. The default level:
	// the best one is 3.5 times slower for 1% fewer bytes on a controller.
	zw, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name[1:], Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: mtime, Format: tar.FormatUSTAR,
		}
		if e.dir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if err := writeContent(tw, e); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeContent(w io.Writer, e entry) error {
	switch {
	case e.dir:
		return nil
	case e.file == "":
		_, err := w.Write(e.data)
		return err
	}
	src, err := os.Open(e.file)
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := io.Copy(w, src)
	if err == nil && n != e.size {
		err = fmt.Errorf("changed while writing the layer: %d bytes, want %d", n, e.size)
	}
	return err
}

// baseEntries are the files every image shares (one layer, so a registry
// stores it once): the CA bundle, the nonroot user, /tmp and its home.
func baseEntries() ([]entry, error) {
	ca, err := caBundle()
	if err != nil {
		return nil, err
	}
	dir := func(name string, mode int64) entry { return entry{name: name, mode: mode, dir: true} }
	file := func(name string, data []byte) entry {
		return entry{name: name, mode: 0o644, data: data, size: int64(len(data))}
	}
	home := dir(Home, 0o755)
	home.uid, home.gid = UID, GID
	return []entry{
		dir("/etc", 0o755), dir("/etc/ssl", 0o755), dir("/etc/ssl/certs", 0o755),
		file(CABundlePath, ca),
		file("/etc/passwd", fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", UID, GID, Home)),
		file("/etc/group", fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", GID)),
		dir("/home", 0o755), home,
		dir("/tmp", 0o1777),
	}, nil
}

// binaryEntries is the layer of one component: its static binary.
func binaryEntries(path, inImage string) ([]entry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return []entry{{name: inImage, mode: 0o755, file: path, size: fi.Size()}}, nil
}

// caBundle renders the Mozilla NSS roots of the pinned module
// golang.org/x/crypto/x509roots/fallback as PEM, in the module's order.
// Roots with a constraint (a distrust-after date) are left out: a PEM
// bundle cannot carry the constraint, and trusting them without it would
// trust more than NSS does. The roots come from go.sum-pinned source, never
// from the build host, so the layer is the same on every machine.
func caBundle() ([]byte, error) {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		if _, err := x509.ParseCertificate(root.Certificate); err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
	}
	if buf.Len() == 0 {
		return nil, fmt.Errorf("CA bundle: no roots in golang.org/x/crypto/x509roots/fallback/bundle")
	}
	return buf.Bytes(), nil
}
