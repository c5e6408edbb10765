package artifact

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/artifact/securepath"
)

// Storage manages artifacts on the local file system under BasePath, in
// Flux's layout <base>/<kind-lowercase>/<namespace>/<name>/<file>.
type Storage struct {
	// BasePath is the root directory of the storage.
	BasePath string
	// Hostname is the advertised address of the artifact server, e.g.
	// "source-controller.flux-system.svc.cluster.local.". When it starts with
	// http:// or https:// it is used as the URL prefix as is.
	Hostname string
	// RetentionRecords is how many files GarbageCollect keeps per object,
	// the current artifact included (Flux default 2). Values < 1 mean 1.
	RetentionRecords int
	// RetentionTTL is how old a file beyond the retained records must be
	// before GarbageCollect deletes it (Flux default 1m).
	RetentionTTL time.Duration
	// DigestAlgorithm is sha256 (default when empty), sha384 or sha512.
	DigestAlgorithm string
}

// NewStorage validates the settings and creates BasePath if needed.
func NewStorage(basePath, hostname string, retentionRecords int, retentionTTL time.Duration) (*Storage, error) {
	if basePath == "" {
		return nil, errors.New("artifact storage: empty base path")
	}
	abs, err := filepath.Abs(basePath)
	if err != nil {
		return nil, fmt.Errorf("artifact storage: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("artifact storage: %w", err)
	}
	return &Storage{BasePath: abs, Hostname: hostname, RetentionRecords: retentionRecords, RetentionTTL: retentionTTL}, nil
}

// ArtifactDir returns the storage-relative directory of an object's
// artifacts: "<kind-lowercase>/<namespace>/<name>".
func ArtifactDir(kind, namespace, name string) string {
	return path.Join(strings.ToLower(kind), namespace, name)
}

// ArtifactPath returns the storage-relative path of an artifact file.
func ArtifactPath(kind, namespace, name, fileName string) string {
	return path.Join(ArtifactDir(kind, namespace, name), fileName)
}

// NewArtifactFor returns a meta.Artifact for obj with its path and URL set;
// digest, size and time are filled in when the file is written.
func (s *Storage) NewArtifactFor(kind string, obj metav1.Object, revision, fileName string) meta.Artifact {
	art := meta.Artifact{
		Path:     ArtifactPath(kind, obj.GetNamespace(), obj.GetName(), fileName),
		Revision: revision,
	}
	s.SetArtifactURL(&art)
	return art
}

// SetArtifactURL sets art.URL from Hostname and art.Path.
func (s *Storage) SetArtifactURL(art *meta.Artifact) {
	if art.Path == "" {
		return
	}
	art.URL = s.URLFor(art.Path)
}

// URLFor returns the URL that serves the storage-relative path p:
// http://<Hostname>/<p>, or <Hostname>/<p> when Hostname has a scheme.
func (s *Storage) URLFor(p string) string {
	host := strings.TrimSuffix(s.Hostname, "/")
	p = strings.TrimPrefix(p, "/")
	if strings.HasPrefix(host, "http://") || strings.HasPrefix(host, "https://") {
		return host + "/" + p
	}
	return "http://" + host + "/" + p
}

// LocalPath returns the file path of art under BasePath. It fails if
// art.Path is empty, absolute, escapes BasePath lexically or names the
// root. The check is lexical: storage paths are made by the controller
// (kind/namespace/name/file) and the storage holds no symlink leading
// out; what comes from outside (a served URL) is opened through an
// os.Root instead (see the server).
func (s *Storage) LocalPath(art meta.Artifact) (string, error) {
	if art.Path == "" {
		return "", errors.New("artifact has no path")
	}
	c, err := securepath.Clean(art.Path)
	if err != nil {
		return "", fmt.Errorf("artifact path: %w", err)
	}
	if c == "." {
		return "", fmt.Errorf("artifact path %q names the storage root", art.Path)
	}
	return filepath.Join(s.BasePath, filepath.FromSlash(c)), nil
}

// MkdirAllFor creates the directory that holds art.
func (s *Storage) MkdirAllFor(art meta.Artifact) error {
	p, err := s.LocalPath(art)
	if err != nil {
		return err
	}
	return os.MkdirAll(filepath.Dir(p), 0o755)
}

// ArtifactExist reports whether art's file exists as a regular file.
func (s *Storage) ArtifactExist(art meta.Artifact) bool {
	p, err := s.LocalPath(art)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// VerifyArtifact recomputes the digest (and checks the size, if recorded)
// of art's file and fails on any difference.
func (s *Storage) VerifyArtifact(art meta.Artifact) error {
	if art.Digest == "" {
		return errors.New("artifact has no digest")
	}
	p, err := s.LocalPath(art)
	if err != nil {
		return err
	}
	algo, _, _ := strings.Cut(art.Digest, ":")
	got, size, err := DigestFile(p, algo)
	if err != nil {
		return fmt.Errorf("verify artifact %q: %w", art.Path, err)
	}
	if !strings.EqualFold(got, art.Digest) {
		return fmt.Errorf("verify artifact %q: digest mismatch: expected %s, got %s", art.Path, art.Digest, got)
	}
	if art.Size != nil && *art.Size != size {
		return fmt.Errorf("verify artifact %q: size mismatch: expected %d, got %d", art.Path, *art.Size, size)
	}
	return nil
}

// Remove deletes art's file; a missing file is not an error.
func (s *Storage) Remove(art meta.Artifact) error {
	p, err := s.LocalPath(art)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove artifact: %w", err)
	}
	return nil
}

// RemoveAll deletes the directory holding art, i.e. every artifact of the
// object (used when the object is deleted). It returns the deleted
// directory, or "" if there was none.
func (s *Storage) RemoveAll(art meta.Artifact) (string, error) {
	p, err := s.LocalPath(art)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	if dir == filepath.Clean(s.BasePath) {
		return "", fmt.Errorf("refusing to remove the storage root for %q", art.Path)
	}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return "", nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("remove artifacts: %w", err)
	}
	return dir, nil
}

// RemoveAllButCurrent deletes every file next to art except art itself,
// symlinks and dotfiles (in-progress writes), returning the deleted paths.
func (s *Storage) RemoveAllButCurrent(art meta.Artifact) ([]string, error) {
	p, err := s.LocalPath(art)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var deleted []string
	var errs []error
	for _, e := range entries {
		f := filepath.Join(filepath.Dir(p), e.Name())
		if f == p || !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := os.Remove(f); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, f)
	}
	return deleted, errors.Join(errs...)
}

func (s *Storage) digestAlgorithm() string {
	if s.DigestAlgorithm == "" {
		return DefaultDigestAlgorithm
	}
	return s.DigestAlgorithm
}
