package fieldcoverage

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// fieldKey names one field of one API struct type, so a read of
// GitRepositorySpec.Ignore does not count for OCIRepositorySpec.Ignore.
type fieldKey struct {
	pkg, typ, name string
}

func (k fieldKey) String() string { return k.typ + "." + k.name }

// typedReads holds the API struct fields read through selectors, resolved
// by type-checking: per controller module, in shared pkg code (outside
// the API types), and per accessor method of the API types.
type typedReads struct {
	module map[string]map[fieldKey]bool
	shared map[fieldKey]bool
	// accessor maps a method of the API types (types.Func.FullName) to the
	// fields it reads, directly or through other such methods.
	accessor map[string]map[fieldKey]bool
	// byName maps a method name to its full names, for calls through an
	// interface, which resolve to no one kind.
	byName map[string][]string
	// moduleCalls and sharedCalls are the API methods code calls.
	moduleCalls map[string]map[string]bool
	sharedCalls map[string]bool
}

// reads reports whether the code of mod (or shared pkg code) reads k,
// directly or through an accessor it calls.
func (r *typedReads) reads(mod string, k fieldKey) bool {
	if r.module[mod][k] || r.shared[k] {
		return true
	}
	for m := range r.moduleCalls[mod] {
		if r.accessor[m][k] {
			return true
		}
	}
	for m := range r.sharedCalls {
		if r.accessor[m][k] {
			return true
		}
	}
	return false
}

// loadTypedReads type-checks pkg and the controller modules (non-test
// files) and resolves every selector to the struct field or method it
// names.
func loadTypedReads(modules []string) (*typedReads, error) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, err
	}
	patterns := []string{"gotk.dev/pkg/..."}
	for _, m := range modules {
		patterns = append(patterns, "gotk.dev/"+m+"/...")
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
			packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports,
		Dir: root,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	r := &typedReads{
		module:      map[string]map[fieldKey]bool{},
		shared:      map[fieldKey]bool{},
		accessor:    map[string]map[fieldKey]bool{},
		byName:      map[string][]string{},
		moduleCalls: map[string]map[string]bool{},
		sharedCalls: map[string]bool{},
	}
	owners := map[*types.Package]map[*types.Var]fieldKey{}
	ownerOf := func(v *types.Var) (fieldKey, bool) {
		p := v.Pkg()
		if p == nil || !strings.HasPrefix(p.Path()+"/", apiPkgPrefix) {
			return fieldKey{}, false
		}
		m, ok := owners[p]
		if !ok {
			m = structFields(p)
			owners[p] = m
		}
		k, ok := m[v]
		return k, ok
	}
	// accessorCalls: API method -> API methods it calls, for the closure.
	accessorCalls := map[string]map[string]bool{}
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
		if strings.Contains(p.PkgPath, "/fieldcoverage") {
			continue
		}
		isAPI := strings.HasPrefix(p.PkgPath+"/", apiPkgPrefix)
		mod := ""
		if !strings.HasPrefix(p.PkgPath, "gotk.dev/pkg/") {
			mod = strings.SplitN(strings.TrimPrefix(p.PkgPath, "gotk.dev/"), "/", 2)[0]
		}
		for _, f := range p.Syntax {
			if strings.HasPrefix(filepath.Base(p.Fset.File(f.Pos()).Name()), "zz_generated") {
				continue // deep copies touch every field
			}
			for _, decl := range f.Decls {
				var fields map[fieldKey]bool
				var calls map[string]bool
				switch {
				case isAPI:
					fn, ok := decl.(*ast.FuncDecl)
					if !ok || fn.Recv == nil || fn.Body == nil {
						continue
					}
					obj, ok := p.TypesInfo.Defs[fn.Name].(*types.Func)
					if !ok {
						continue
					}
					name := obj.FullName()
					r.byName[obj.Name()] = append(r.byName[obj.Name()], name)
					if r.accessor[name] == nil {
						r.accessor[name] = map[fieldKey]bool{}
						accessorCalls[name] = map[string]bool{}
					}
					fields, calls = r.accessor[name], accessorCalls[name]
				case mod == "":
					fields, calls = r.shared, r.sharedCalls
				default:
					if r.module[mod] == nil {
						r.module[mod] = map[fieldKey]bool{}
						r.moduleCalls[mod] = map[string]bool{}
					}
					fields, calls = r.module[mod], r.moduleCalls[mod]
				}
				ast.Inspect(decl, func(n ast.Node) bool {
					s, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					sel := p.TypesInfo.Selections[s]
					if sel == nil {
						return true
					}
					switch obj := sel.Obj().(type) {
					case *types.Var:
						if k, ok := ownerOf(obj); ok {
							fields[k] = true
						}
					case *types.Func:
						calls[methodName(obj)] = true
					}
					return true
				})
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("type-checking the controllers: %s", strings.Join(errs, "; "))
	}
	// A call through an interface method stands for every API method of
	// that name; expand those, then close accessors over the accessors
	// they call.
	expand := func(calls map[string]bool) {
		for c := range calls {
			if name, ok := strings.CutPrefix(c, "iface:"); ok {
				for _, full := range r.byName[name] {
					calls[full] = true
				}
			}
		}
	}
	expand(r.sharedCalls)
	for _, c := range r.moduleCalls {
		expand(c)
	}
	for changed := true; changed; {
		changed = false
		for m, calls := range accessorCalls {
			expand(calls)
			for c := range calls {
				for k := range r.accessor[c] {
					if !r.accessor[m][k] {
						r.accessor[m][k] = true
						changed = true
					}
				}
			}
		}
	}
	return r, nil
}

// methodName is the key of a called method: its full name, or for an
// interface method "iface:Name".
func methodName(f *types.Func) string {
	if sig, ok := f.Type().(*types.Signature); ok && sig.Recv() != nil {
		if types.IsInterface(sig.Recv().Type()) {
			return "iface:" + f.Name()
		}
	}
	return f.FullName()
}

// structFields maps every field of every named struct type of p to its
// owner type and name.
func structFields(p *types.Package) map[*types.Var]fieldKey {
	out := map[*types.Var]fieldKey{}
	scope := p.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok {
			continue
		}
		st, ok := tn.Type().Underlying().(*types.Struct)
		if !ok {
			continue
		}
		for i := 0; i < st.NumFields(); i++ {
			f := st.Field(i)
			out[f] = fieldKey{pkg: p.Path(), typ: tn.Name(), name: f.Name()}
		}
	}
	return out
}
