// Package celexpr compiles and evaluates the CEL expressions users write in
// Providers and Receivers: every variable is dynamic (the JSON form of an
// object), the strings extension is loaded, each evaluation has a cost
// limit, and compiled programs are cached by source and variable names.
package celexpr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
)

// costLimit bounds one evaluation: the expressions come from users.
const costLimit = 1_000_000

// maxCached bounds the program cache; it is emptied when full.
const maxCached = 512

// ErrCompile marks an expression that does not compile or gives the wrong
// type: a fault of the spec, not of the input.
var ErrCompile = errors.New("does not compile")

var (
	mu    sync.Mutex
	cache = map[string]cel.Program{}
)

// Compile compiles src with the named dynamic variables. The error says
// why it does not compile, never what the variables hold.
func Compile(src string, vars ...string) (cel.Program, error) {
	return compile(src, false, vars)
}

// CompileBool is Compile for expressions that must give a bool: one whose
// type is known and is not bool is refused.
func CompileBool(src string, vars ...string) (cel.Program, error) {
	return compile(src, true, vars)
}

func compile(src string, wantBool bool, vars []string) (cel.Program, error) {
	key := fmt.Sprintf("%t\x00%s\x00%s", wantBool, strings.Join(vars, ","), src)
	mu.Lock()
	defer mu.Unlock()
	if prg, ok := cache[key]; ok {
		return prg, nil
	}
	opts := []cel.EnvOption{ext.Strings()}
	for _, v := range vars {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrCompile, iss.Err())
	}
	if t := ast.OutputType(); wantBool && !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("%w: must give a bool, gives %s", ErrCompile, t)
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		return nil, err
	}
	if len(cache) >= maxCached {
		cache = map[string]cel.Program{}
	}
	cache[key] = prg
	return prg, nil
}

// names returns the sorted keys of vars, the variables a program declares.
func names(vars map[string]any) []string {
	out := make([]string, 0, len(vars))
	for k := range vars {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Eval compiles (or reuses) src and evaluates it over vars, whose keys are
// the variable names.
func Eval(src string, vars map[string]any) (ref.Val, error) {
	prg, err := Compile(src, names(vars)...)
	if err != nil {
		return nil, err
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	return out, nil
}

// Bool evaluates an expression that must give a bool over vars.
func Bool(src string, vars map[string]any) (bool, error) {
	prg, err := CompileBool(src, names(vars)...)
	if err != nil {
		return false, err
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("evaluating: %w", err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("must give a bool, gave %s", out.Type().TypeName())
	}
	return b, nil
}
