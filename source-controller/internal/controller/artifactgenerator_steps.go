package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/artifact/generator"
	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/runtime/reconcile"
)

// generatorSourceRetry is how soon a missing or not yet ready source is
// looked at again (its artifact appearing also triggers a reconcile).
const generatorSourceRetry = 30 * time.Second

// resolvedSource is one spec.sources entry with its current artifact.
type resolvedSource struct {
	ref      sourceextv1beta1.SourceReference
	key      client.ObjectKey
	artifact meta.Artifact
	// dir is the extracted artifact, once fetched.
	dir string
}

// generatorRun is the state one ArtifactGenerator reconcile passes from
// step to step.
type generatorRun struct {
	r       *ArtifactGeneratorReconciler
	sources map[string]*resolvedSource
	// sourcesDigest digests the sources' artifacts and the generation.
	sourcesDigest string
	// upToDate is set when the inventory was built from these sources
	// and every generated artifact is still stored.
	upToDate bool
	tmp      string
	// prev is the inventory before this run's build, for pruning.
	prev []sourceextv1beta1.ExternalArtifactReference
	// pattern is the parsed spec.pathPattern, nil without one.
	pattern *generator.Pattern
}

func (run *generatorRun) cleanup() {
	if run.tmp != "" {
		_ = os.RemoveAll(run.tmp)
	}
}

// validate checks what the schema cannot: unique aliases and names, and
// copy operations naming declared aliases.
func (run *generatorRun) validate(_ context.Context, obj *sourceextv1beta1.ArtifactGenerator) error {
	aliases := map[string]bool{}
	for _, s := range obj.Spec.Sources {
		if aliases[s.Alias] {
			return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "duplicate source alias '%s'", s.Alias)
		}
		aliases[s.Alias] = true
		ns := s.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		if err := reconcile.CrossNamespaceRef(run.r.NoCrossNamespaceRefs, obj.Namespace, "spec.sources["+s.Alias+"]", s.Kind, ns, s.Name); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for _, out := range obj.Spec.OutputArtifacts {
		if names[out.Name] {
			return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "duplicate artifact name '%s'", out.Name)
		}
		names[out.Name] = true
		for field, ref := range map[string]string{"revision": out.Revision, "originRevision": out.OriginRevision} {
			if a := strings.TrimPrefix(ref, "@"); ref != "" && !aliases[a] {
				return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "artifact '%s' %s '%s': unknown source alias '%s'", out.Name, field, ref, a)
			}
		}
		for i, op := range out.Copy {
			alias, _, err := generator.ParseFrom(op.From)
			if err != nil {
				return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "artifact '%s' copy[%d]: %v", out.Name, i, err)
			}
			if !aliases[alias] {
				return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "artifact '%s' copy[%d] from '%s': unknown source alias '%s'", out.Name, i, op.From, alias)
			}
		}
	}
	return run.validatePattern(obj, aliases)
}

// validatePattern parses spec.pathPattern and checks that it searches a
// declared source and that the artifacts use only its captures.
func (run *generatorRun) validatePattern(obj *sourceextv1beta1.ArtifactGenerator, aliases map[string]bool) error {
	if obj.Spec.PathPattern == "" {
		return nil
	}
	p, err := generator.ParsePattern(obj.Spec.PathPattern)
	if err == nil && !aliases[p.Alias] {
		return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "pathPattern '%s': unknown source alias '%s'", p.Spec, p.Alias)
	}
	if err == nil {
		err = p.CheckTemplates(obj.Spec.OutputArtifacts)
	}
	var gerr *generator.Error
	if errors.As(err, &gerr) {
		return reconcile.Stall(gerr.Reason, "%s", gerr.Msg)
	}
	run.pattern = p
	return nil
}

// resolveSources reads each source and its artifact; a missing source or
// one without an artifact waits. When the sources are the ones the
// inventory was built from and everything generated is still there, the
// next steps have nothing to do.
func (run *generatorRun) resolveSources(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator) error {
	run.sources = map[string]*resolvedSource{}
	h := sha256.New()
	fmt.Fprintf(h, "generation=%d\n", obj.Generation)
	for _, s := range obj.Spec.Sources {
		rs := &resolvedSource{ref: s, key: client.ObjectKey{Namespace: s.Namespace, Name: s.Name}}
		if rs.key.Namespace == "" {
			rs.key.Namespace = obj.Namespace
		}
		src, err := newSourceObject(s.Kind)
		if err != nil {
			return err
		}
		if err := run.r.Client.Get(ctx, rs.key, src); err != nil {
			if apierrors.IsNotFound(err) {
				return reconcile.Wait(generatorSourceRetry, sourceextv1beta1.SourceFetchFailedReason,
					"source '@%s': %s '%s' not found", s.Alias, s.Kind, rs.key)
			}
			return reconcile.Retry(sourceextv1beta1.SourceFetchFailedReason, "source '@%s': getting %s '%s': %v", s.Alias, s.Kind, rs.key, err)
		}
		art := src.GetArtifact()
		if art == nil {
			msg := "no artifact yet"
			if c, ok := src.(conditions.Getter); ok && conditions.IsFalse(c, meta.ReadyCondition) {
				msg = "not ready: " + conditions.GetMessage(c, meta.ReadyCondition)
			}
			return reconcile.Wait(generatorSourceRetry, sourceextv1beta1.SourceFetchFailedReason,
				"source '@%s': %s '%s' is %s", s.Alias, s.Kind, rs.key, msg)
		}
		rs.artifact = *art
		run.sources[s.Alias] = rs
		fmt.Fprintf(h, "%s %s %s %s %s\n", s.Alias, s.Kind, rs.key, art.Revision, art.Digest)
	}
	run.sourcesDigest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	run.upToDate = obj.Status.ObservedSourcesDigest == run.sourcesDigest && run.inventoryStored(ctx, obj)
	return nil
}

// inventoryStored reports whether every inventoried ExternalArtifact
// still exists with its stored file.
func (run *generatorRun) inventoryStored(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator) bool {
	// With a pathPattern the number of outputs depends on the source tree,
	// which these sources' digests (checked by the caller) pin.
	if obj.Spec.PathPattern == "" && len(obj.Status.Inventory) != len(obj.Spec.OutputArtifacts) {
		return false
	}
	for _, ref := range obj.Status.Inventory {
		var ea sourcev1.ExternalArtifact
		if err := run.r.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &ea); err != nil {
			return false
		}
		if a := ea.Status.Artifact; a == nil || a.Digest != ref.Digest || !run.r.Storage.ArtifactExist(*a) {
			return false
		}
	}
	return true
}

// sourceObject is a source kind's API object.
type sourceObject interface {
	client.Object
	sourcev1.Source
}

// newSourceObject returns an empty object of a source kind.
func newSourceObject(kind string) (sourceObject, error) {
	switch kind {
	case sourcev1.GitRepositoryKind:
		return &sourcev1.GitRepository{}, nil
	case sourcev1.OCIRepositoryKind:
		return &sourcev1.OCIRepository{}, nil
	case sourcev1.BucketKind:
		return &sourcev1.Bucket{}, nil
	case sourcev1.HelmChartKind:
		return &sourcev1.HelmChart{}, nil
	case sourcev1.ExternalArtifactKind:
		return &sourcev1.ExternalArtifact{}, nil
	}
	return nil, reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "source kind '%s' is not supported", kind)
}

// fetch downloads and extracts every source's artifact, digest checked.
func (run *generatorRun) fetch(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator) error {
	if run.upToDate {
		return nil
	}
	tmp, err := os.MkdirTemp("", "artifactgenerator-")
	if err != nil {
		return reconcile.Retry(sourcev1.DirCreationFailedReason, "creating a temporary directory: %v", err)
	}
	run.tmp = tmp
	for alias, rs := range run.sources {
		rs.dir = filepath.Join(tmp, "sources", alias)
		if err := run.r.Fetcher.Fetch(ctx, rs.artifact.URL, rs.artifact.Digest, rs.dir); err != nil {
			return reconcile.Retry(sourceextv1beta1.SourceFetchFailedReason, "source '@%s': fetching the artifact of %s '%s' (revision '%s'): %v",
				alias, rs.ref.Kind, rs.key, rs.artifact.Revision, err)
		}
	}
	return nil
}

// build generates every output and records the inventory.
func (run *generatorRun) build(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator) error {
	if run.upToDate {
		return nil
	}
	outputs, err := run.outputs(obj)
	if err != nil {
		return err
	}
	var inventory []sourceextv1beta1.ExternalArtifactReference
	for i := range outputs {
		ref, err := run.output(ctx, obj, &outputs[i])
		if err != nil {
			return err
		}
		inventory = append(inventory, ref)
	}
	run.prev = obj.Status.Inventory
	obj.Status.Inventory = inventory
	obj.Status.ObservedSourcesDigest = run.sourcesDigest
	return nil
}

// outputs are the artifacts to generate: the spec's, or with a
// pathPattern the spec's rendered for each directory it matches.
func (run *generatorRun) outputs(obj *sourceextv1beta1.ArtifactGenerator) ([]generator.Output, error) {
	if run.pattern == nil {
		return generator.Plain(obj.Spec.OutputArtifacts), nil
	}
	outs, err := run.pattern.Expand(run.sources[run.pattern.Alias].dir, obj.Spec.OutputArtifacts)
	var gerr *generator.Error
	if errors.As(err, &gerr) {
		return nil, reconcile.Stall(gerr.Reason, "%s", gerr.Msg)
	}
	if err != nil {
		return nil, reconcile.Retry(sourceextv1beta1.BuildFailedReason, "%v", err)
	}
	return outs, nil
}

// buildError maps a copy failure to a stalling condition with its reason.
func buildError(out *sourceextv1beta1.OutputArtifact, i int, err error) error {
	var gerr *generator.Error
	if errors.As(err, &gerr) {
		return reconcile.Stall(gerr.Reason, "artifact '%s' copy[%d]: %s", out.Name, i, gerr.Msg)
	}
	if errors.Is(err, securepath.ErrEscape) {
		return reconcile.Stall(sourceextv1beta1.ValidationFailedReason, "artifact '%s' copy[%d]: %v", out.Name, i, err)
	}
	return reconcile.Retry(sourceextv1beta1.BuildFailedReason, "artifact '%s' copy[%d]: %v", out.Name, i, err)
}

// output builds one output tree and, when its content or revision
// changed, stores a new artifact and writes its ExternalArtifact.
func (run *generatorRun) output(ctx context.Context, obj *sourceextv1beta1.ArtifactGenerator, gen *generator.Output) (sourceextv1beta1.ExternalArtifactReference, error) {
	out := &gen.OutputArtifact
	ref := sourceextv1beta1.ExternalArtifactReference{Name: out.Name, Namespace: obj.Namespace}
	dir := filepath.Join(run.tmp, "outputs", out.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ref, reconcile.Retry(sourcev1.DirCreationFailedReason, "%v", err)
	}
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return ref, reconcile.Retry(sourcev1.DirCreationFailedReason, "%v", err)
	}
	defer root.Close()
	dirs := make(map[string]string, len(run.sources))
	for alias, src := range run.sources {
		dirs[alias] = src.dir
	}
	var opErr *generator.OpError
	if err := generator.Compose(root, out, dirs); errors.As(err, &opErr) {
		return ref, buildError(out, opErr.Index, opErr.Err)
	} else if err != nil {
		return ref, reconcile.Retry(sourceextv1beta1.BuildFailedReason, "artifact '%s': %v", out.Name, err)
	}
	sum, err := generator.TreeDigest(root)
	if err != nil {
		return ref, reconcile.Retry(sourceextv1beta1.BuildFailedReason, "artifact '%s': %v", out.Name, err)
	}
	revision := "latest@sha256:" + sum
	if out.Revision != "" {
		revision = run.sources[strings.TrimPrefix(out.Revision, "@")].artifact.Revision
	}
	ref.Filename = sum + ".tar.gz"
	return run.store(ctx, obj, gen, ref, revision, dir)
}
