package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/kustomize"
)

// Manager applies sets of objects with server-side apply.
type Manager struct {
	// Client talks to the target cluster (possibly impersonating).
	Client client.Client
	// FieldManager owns the applied fields ("kustomize-controller").
	FieldManager string
	// Concurrency bounds parallel requests per stage (0: 4).
	Concurrency int
	// StageTimeout bounds the wait for CRDs to be established (0: 1m).
	StageTimeout time.Duration
	// NamespaceReader, when set, is a cached reader tried first for
	// namespace lookups; a miss is confirmed with Client.
	NamespaceReader client.Reader
	// CustomStageKinds are applied in a stage of their own after the
	// definitions and waited for before the rest.
	CustomStageKinds []StageKind
	// Lookup, when set, answers from a watch cache whether an object
	// with the owner labels exists (known false: it cannot tell). An
	// object it says is absent is applied without a read or a dry-run.
	Lookup func(u *unstructured.Unstructured) (exists, known bool)
}

// Options describe one apply.
type Options struct {
	// Force recreates objects whose change hits an immutable field
	// (spec.force; the force annotation does it per object).
	Force bool
	// OwnerName and OwnerNamespace identify the applying Kustomization
	// through the owner labels the caller set on every object.
	OwnerName, OwnerNamespace string
	// OwnerExists reports whether another Kustomization still exists, so
	// its objects are not taken over while it does (nil: always true).
	OwnerExists func(ctx context.Context, namespace, name string) bool
	// IgnoreFields returns field paths of an existing object this apply
	// must leave to others (spec.ignore rules, fields another manager
	// fights over); they are dropped from what is applied.
	IgnoreFields func(u *unstructured.Unstructured) [][]string
	// SameInputs says objs are built from the inputs of the last
	// successful apply (same revision and spec, no inputs from outside
	// the artifact). An existing object that already holds every value
	// of its configuration is then unchanged without a dry-run: applying
	// the configuration that made it again changes nothing. A changed
	// object (drift) is dry-run and applied as always.
	SameInputs bool
}

// plan is the dry-run outcome for one object.
type plan struct {
	obj    *unstructured.Unstructured
	action Action
	// takeover, when set, moves kubectl's fields to this controller
	// before the apply (see takeoverPatch).
	takeover client.Patch
	// ignored are the field paths left to other managers (kept by them
	// when the takeover patch is made again after a conflict).
	ignored [][]string
	// direct: applied without a read or dry-run (see absent).
	direct bool
}

// Apply validates and applies objs stage by stage. Nothing of a stage is
// written unless every existing object of it passed its dry-run, and
// nothing at all is written when the preflight (kinds, namespaces)
// fails. Objects the watch cache (Lookup) says are absent are created
// without a dry-run, so one of them the API server refuses fails the
// stage after its other new objects were created. The change set
// lists every object, skipped ones included.
func (m *Manager) Apply(ctx context.Context, objs []*unstructured.Unstructured, o Options) (ChangeSet, error) {
	if err := m.preflight(ctx, objs); err != nil {
		return nil, err
	}
	var cs ChangeSet
	for i, stage := range m.stages(objs) {
		if len(stage) == 0 {
			continue
		}
		plans, err := m.dryRun(ctx, stage, o)
		if err != nil {
			return cs, err
		}
		if err := m.write(ctx, plans); err != nil {
			return cs, err
		}
		for _, p := range plans {
			cs = append(cs, Change{Object: kustomize.ObjectRef(p.obj), Action: p.action})
		}
		switch i {
		case stageDefinitions:
			if err := m.waitEstablished(ctx, stage); err != nil {
				return cs, err
			}
		case stageCustom:
			if err := m.waitReady(ctx, stage); err != nil {
				return cs, err
			}
		}
	}
	return cs, nil
}

// preflight checks what would fail half-way: kinds the cluster does not
// serve (and no CRD in the set provides) and namespaces that neither
// exist nor are in the set. It writes nothing.
func (m *Manager) preflight(ctx context.Context, objs []*unstructured.Unstructured) error {
	crdScopes := map[string]string{} // group/kind -> scope of CRDs in the set
	inSet := map[string]bool{}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		if gvk.Kind == "Namespace" && gvk.Group == "" {
			inSet[u.GetName()] = true
		}
		if gvk.Kind == "CustomResourceDefinition" && gvk.Group == "apiextensions.k8s.io" {
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
			crdScopes[group+"/"+kind] = scope
		}
	}
	var problems []string
	needs := map[string][]string{}
	for _, u := range objs {
		if kustomize.Excluded(u) {
			continue
		}
		gvk := u.GroupVersionKind()
		namespaced := false
		if scope, ok := crdScopes[gvk.Group+"/"+gvk.Kind]; ok {
			namespaced = scope == string(apiextensionsv1.NamespaceScoped)
		} else {
			mapping, err := m.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				if meta.IsNoMatchError(err) {
					problems = append(problems, fmt.Sprintf("%s: the cluster does not serve %s (install its CustomResourceDefinition first)", kustomize.ObjectRef(u), gvk.GroupVersion().WithKind(gvk.Kind)))
					continue
				}
				return fmt.Errorf("%s: %w", kustomize.ObjectRef(u), err)
			}
			namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace
		}
		switch ns := u.GetNamespace(); {
		case namespaced && ns == "":
			problems = append(problems, fmt.Sprintf("%s: namespaced object without a namespace (set metadata.namespace or spec.targetNamespace)", kustomize.ObjectRef(u)))
		case !namespaced && ns != "":
			u.SetNamespace("") // cluster-scoped: a namespace is meaningless
		case namespaced && !inSet[ns]:
			needs[ns] = append(needs[ns], kustomize.ObjectRef(u))
		}
	}
	nsNames := make([]string, 0, len(needs))
	for ns := range needs {
		nsNames = append(nsNames, ns)
	}
	sort.Strings(nsNames)
	for _, ns := range nsNames {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		err := m.getNamespace(ctx, ns, u)
		switch {
		case apierrors.IsNotFound(err):
			problems = append(problems, fmt.Sprintf("namespace %q not found, needed by %s: add a Namespace object to the source or create the namespace",
				ns, strings.Join(needs[ns], ", ")))
		case err != nil:
			return fmt.Errorf("checking namespace %q: %w", ns, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing was applied: %s", strings.Join(problems, "; "))
	}
	return nil
}

func forced(u *unstructured.Unstructured, o Options) bool {
	return o.Force || strings.EqualFold(u.GetAnnotations()[kustomizev1.ForceAnnotation], kustomizev1.EnabledValue)
}

// dryRun computes what applying each object would do, without writing.
func (m *Manager) dryRun(ctx context.Context, objs []*unstructured.Unstructured, o Options) ([]plan, error) {
	plans := make([]plan, len(objs))
	listed, err := m.listLive(ctx, objs, o)
	if err != nil {
		return nil, fmt.Errorf("nothing was applied from this stage: %w", err)
	}
	errs := m.parallel(ctx, len(objs), func(ctx context.Context, i int) error {
		u := objs[i]
		plans[i] = plan{obj: u, action: Skipped}
		if kustomize.Excluded(u) {
			return nil
		}
		if m.absent(u, o) {
			plans[i].action, plans[i].direct = Created, true
			return nil
		}
		live, exists := listed[keyOf(u)]
		if !exists {
			live = &unstructured.Unstructured{}
			live.SetGroupVersionKind(u.GroupVersionKind())
			// The API server's watch cache answers: a stale answer costs at
			// most one needless apply, as "unchanged" also needs the dry-run
			// to have run on the version read (see unchanged).
			err := m.Client.Get(ctx, client.ObjectKeyFromObject(u), live, &client.GetOptions{Raw: &metav1.GetOptions{ResourceVersion: "0"}})
			exists = err == nil
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s: %w", kustomize.ObjectRef(u), err)
			}
		}
		if exists {
			if kustomize.OnlyIfAbsent(u) {
				return nil
			}
			if err := m.checkOwner(ctx, u, live, o); err != nil {
				return err
			}
			var ignored [][]string
			if o.IgnoreFields != nil {
				ignored = o.IgnoreFields(u)
			}
			takeover, err := takeoverPatch(u, live, m.FieldManager, ignored)
			if err != nil {
				return fmt.Errorf("%s: %w", kustomize.ObjectRef(u), err)
			}
			plans[i].takeover = takeover
			plans[i].ignored = ignored
			if len(ignored) > 0 {
				u = u.DeepCopy()
				for _, p := range ignored {
					// Leaving out a field this manager owns would delete it
					// (a required one fails the apply): the payload carries
					// the live value instead, so an ignored field keeps
					// whatever it has.
					if v, found, err := unstructured.NestedFieldNoCopy(live.Object, p...); err == nil && found {
						_ = unstructured.SetNestedField(u.Object, runtime.DeepCopyJSONValue(v), p...)
					} else {
						unstructured.RemoveNestedField(u.Object, p...)
					}
				}
				plans[i].obj = u
			}
			if o.SameInputs && plans[i].takeover == nil && holds(live.Object, u.Object) {
				plans[i].action = Unchanged
				return nil
			}
		}
		dry := u.DeepCopy()
		if err := m.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(dry),
			client.FieldOwner(m.FieldManager), client.ForceOwnership, client.DryRunAll); err != nil {
			if exists && isImmutable(err) && forced(u, o) {
				plans[i].action = Recreated
				return nil
			}
			return fmt.Errorf("%s dry-run failed: %s", kustomize.ObjectRef(u), apiMessage(err))
		}
		switch {
		case !exists:
			plans[i].action = Created
		case unchanged(dry, live) && plans[i].takeover == nil:
			plans[i].action = Unchanged
		default:
			plans[i].action = Configured
		}
		return nil
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing was applied from this stage: %w", joinErrors(errs))
	}
	return plans, nil
}

// checkOwner refuses to take over an object another existing
// Kustomization applied: two owners would flip it back and forth.
func (m *Manager) checkOwner(ctx context.Context, u, live *unstructured.Unstructured, o Options) error {
	if o.OwnerName == "" {
		return nil
	}
	l := live.GetLabels()
	name, ns := l[kustomizev1.NameLabel], l[kustomizev1.NamespaceLabel]
	if name == "" || (name == o.OwnerName && ns == o.OwnerNamespace) {
		return nil
	}
	if o.OwnerExists != nil && !o.OwnerExists(ctx, ns, name) {
		return nil
	}
	return fmt.Errorf("%s is already applied by Kustomization %s/%s: two Kustomizations must not apply the same object (remove it from one source, or give each its own path)",
		kustomize.ObjectRef(u), ns, name)
}

// write applies the objects the dry-run found changed.
func (m *Manager) write(ctx context.Context, plans []plan) error {
	errs := m.parallel(ctx, len(plans), func(ctx context.Context, i int) error {
		p := plans[i]
		switch p.action {
		case Unchanged, Skipped:
			return nil
		case Recreated:
			if err := m.recreate(ctx, p.obj); err != nil {
				return err
			}
		default:
			if p.takeover != nil {
				if err := m.takeOver(ctx, p.obj, p.takeover, p.ignored); err != nil {
					return fmt.Errorf("%s: taking over the fields of kubectl's field managers failed: %s", kustomize.ObjectRef(p.obj), apiMessage(err))
				}
			}
		}
		obj := p.obj.DeepCopy()
		ac := client.ApplyConfigurationFromUnstructured(obj)
		if err := m.Client.Apply(ctx, ac, client.FieldOwner(m.FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("%s apply failed: %s", kustomize.ObjectRef(p.obj), apiMessage(err))
		}
		if p.direct {
			if err := m.adopted(ctx, &plans[i], obj); err != nil {
				return fmt.Errorf("%s apply failed: %s", kustomize.ObjectRef(p.obj), apiMessage(err))
			}
		}
		return nil
	})
	return joinErrors(errs)
}

// recreate deletes an object whose immutable fields change and waits until
// it is gone.
func (m *Manager) recreate(ctx context.Context, u *unstructured.Unstructured) error {
	live := u.DeepCopy()
	if err := m.Client.Delete(ctx, live, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: recreate: %w", kustomize.ObjectRef(u), err)
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, m.stageTimeout(), true, func(ctx context.Context) (bool, error) {
		err := m.Client.Get(ctx, client.ObjectKeyFromObject(u), live)
		return apierrors.IsNotFound(err), nil
	})
}

// waitEstablished waits until the CRDs just applied serve their kinds.
func (m *Manager) waitEstablished(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, u := range objs {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, m.stageTimeout(), true, func(ctx context.Context) (bool, error) {
			if err := m.Client.Get(ctx, client.ObjectKey{Name: u.GetName()}, &crd); err != nil {
				return false, nil
			}
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition/%s is not established: %w", u.GetName(), err)
		}
	}
	return nil
}

func (m *Manager) stageTimeout() time.Duration {
	if m.StageTimeout > 0 {
		return m.StageTimeout
	}
	return time.Minute
}

// parallel runs fn for 0..n-1 with bounded concurrency and returns every
// error in index order.
func (m *Manager) parallel(ctx context.Context, n int, fn func(context.Context, int) error) []error {
	limit := m.Concurrency
	if limit <= 0 {
		limit = 4
	}
	errs := make([]error, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// unchanged reports whether the dry-run result dry equals the live object
// read before it, ignoring bookkeeping the server changes on every write.
// The dry-run carries the version it ran on: a live object read at another
// version (a cached read, or a change in between) is never "unchanged".
func unchanged(dry, live *unstructured.Unstructured) bool {
	if dry.GetResourceVersion() != live.GetResourceVersion() {
		return false
	}
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy()
		for _, f := range []string{"managedFields", "resourceVersion", "generation"} {
			unstructured.RemoveNestedField(c.Object, "metadata", f)
		}
		return c.Object
	}
	return equality.Semantic.DeepEqual(strip(dry), strip(live))
}

func isImmutable(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(strings.ToLower(err.Error()), "immutable")
}

// apiMessage returns the server's message without the request details.
func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if msg := se.Status().Message; msg != "" {
			return msg
		}
	}
	return err.Error()
}

// getNamespace reads a namespace from the cache when there is one,
// confirming a miss with the API server (the cache may lag a namespace
// another Kustomization just created).
func (m *Manager) getNamespace(ctx context.Context, name string, u *unstructured.Unstructured) error {
	if m.NamespaceReader != nil {
		var ns corev1.Namespace
		if err := m.NamespaceReader.Get(ctx, client.ObjectKey{Name: name}, &ns); err == nil {
			return nil
		}
	}
	return m.Client.Get(ctx, client.ObjectKey{Name: name}, u)
}
