package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/runtime/reconcile"
)

// Reasons of IncludeUnavailable.
const (
	reasonIncludeNotFound   = "NotFound"
	reasonIncludeNoArtifact = "NoArtifact"
)

// includeRetry is how soon a missing include is looked at again (its own
// artifact appearing also triggers a reconcile through the watch).
const includeRetry = 30 * time.Second

// resolvedInclude is one spec.include entry with the artifact it brings.
type resolvedInclude struct {
	spec     sourcev1.GitRepositoryInclude
	artifact meta.Artifact
}

// resolveIncludes looks up the GitRepositories named in spec.include and
// their current artifacts. Sets IncludeUnavailable (NotFound, NoArtifact)
// and waits when one is missing; deletes it otherwise.
func (run *gitRun) resolveIncludes(ctx context.Context, obj *sourcev1.GitRepository) error {
	run.includes = nil
	for _, inc := range obj.Spec.Include {
		var dep sourcev1.GitRepository
		key := client.ObjectKey{Namespace: obj.Namespace, Name: inc.GitRepositoryRef.Name}
		if err := run.r.Client.Get(ctx, key, &dep); err != nil {
			reason, msg := reconcile.ReasonFailed, fmt.Sprintf("could not get GitRepository '%s' for include: %v", key.Name, err)
			if apierrors.IsNotFound(err) {
				reason = reasonIncludeNotFound
				msg = run.r.Shard.NotInShard(fmt.Sprintf("included GitRepository '%s'", key.Name))
			}
			conditions.MarkTrue(obj, sourcev1.IncludeUnavailableCondition, reason, "%s", msg)
			return reconcile.Wait(includeRetry, reason, "%s", msg)
		}
		if dep.Status.Artifact == nil || !run.r.Storage.ArtifactExist(*dep.Status.Artifact) {
			conditions.MarkTrue(obj, sourcev1.IncludeUnavailableCondition, reasonIncludeNoArtifact, "no artifact available for include '%s'", key.Name)
			return reconcile.Wait(includeRetry, reasonIncludeNoArtifact, "no artifact available for include '%s'", key.Name)
		}
		run.includes = append(run.includes, resolvedInclude{spec: inc, artifact: *dep.Status.Artifact})
	}
	conditions.Delete(obj, sourcev1.IncludeUnavailableCondition)
	return nil
}

// buildDir returns the tree to archive: the shared checkout itself when
// nothing is included (it is only read), otherwise a private copy with
// each included artifact's fromPath extracted at its toPath.
func (run *gitRun) buildDir() (string, error) {
	if len(run.includes) == 0 {
		return run.lease.Dir, nil
	}
	tmp, err := os.MkdirTemp("", "gitrepository-build-")
	if err != nil {
		return "", reconcile.Retry(sourcev1.DirCreationFailedReason, "creating build directory: %v", err)
	}
	run.tmpDirs = append(run.tmpDirs, tmp)
	dir := filepath.Join(tmp, "src")
	if err := copyTree(run.lease.Dir, dir); err != nil {
		return "", reconcile.Retry(sourcev1.ArchiveOperationFailedReason, "copying checkout: %v", err)
	}
	// toPath and fromPath come from the spec, the tree from the
	// repository: every step goes through an os.Root on the copy.
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return "", reconcile.Retry(sourcev1.DirCreationFailedReason, "opening build directory: %v", err)
	}
	defer root.Close()
	for _, inc := range run.includes {
		name := inc.spec.GitRepositoryRef.Name
		to, err := securepath.Clean(inc.spec.GetToPath())
		if err != nil || to == "." {
			return "", reconcile.Stall(sourcev1.InvalidPathReason, "include '%s': invalid toPath %q", name, inc.spec.GetToPath())
		}
		from := inc.spec.GetFromPath()
		if from == "" {
			from = "."
		}
		if _, err := securepath.Clean(from); err != nil {
			return "", reconcile.Stall(sourcev1.InvalidPathReason, "include '%s': invalid fromPath: %v", name, err)
		}
		if err := root.RemoveAll(to); err != nil {
			return "", includeError(name, sourcev1.ArchiveOperationFailedReason, err)
		}
		if err := root.MkdirAll(path.Dir(to), 0o755); err != nil {
			return "", includeError(name, sourcev1.DirCreationFailedReason, err)
		}
		if err := run.r.Storage.CopyToPath(inc.artifact, from, root, to); err != nil {
			return "", includeError(name, sourcev1.ArchiveOperationFailedReason, err)
		}
	}
	return dir, nil
}

// includeError stalls on a path that leaves the tree (a symlink in the
// repository leading out: retrying the same revision cannot help) and
// retries other failures.
func includeError(name, reason string, err error) error {
	if errors.Is(err, securepath.ErrEscape) {
		return reconcile.Stall(sourcev1.InvalidPathReason, "include '%s': %v", name, err)
	}
	return reconcile.Retry(reason, "include '%s': %v", name, err)
}

// copyTree copies the regular files and directories of src to dst
// (symlinks are not archived, so they are not copied). The checkout is
// untrusted: both trees are used through os.Roots.
func copyTree(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	from, err := securepath.OpenRoot(src)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := securepath.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer to.Close()
	return fs.WalkDir(from.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return to.MkdirAll(p, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(from, to, p, info.Mode().Perm())
		}
		return nil
	})
}

func copyFile(from, to *securepath.Root, name string, mode fs.FileMode) error {
	in, err := from.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := to.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", name, err)
	}
	return out.Close()
}
