package install

import "strings"

// lockdownArgs are the flags --multi-tenant sets, per controller, as
// Flux's multi-tenancy lockdown patch does: no references across
// namespaces wherever a controller follows them, and releases and
// Kustomizations that name no service account run as the tenant
// namespace's "default" account (so as the tenant, not as the controller).
var lockdownArgs = map[string][]string{
	"kustomize-controller":        {"--no-cross-namespace-refs=true", "--default-service-account=default"},
	"helm-controller":             {"--no-cross-namespace-refs=true", "--default-service-account=default"},
	"image-automation-controller": {"--no-cross-namespace-refs=true"},
	"notification-controller":     {"--no-cross-namespace-refs=true"},
}

// lockdown sets the lockdown flags of controller on args, replacing any
// value the manifest already gives them.
func lockdown(controller string, args []any) []any {
	for _, want := range lockdownArgs[controller] {
		name, _, _ := strings.Cut(want, "=")
		replaced := false
		for i, a := range args {
			if s, ok := a.(string); ok && (s == name || strings.HasPrefix(s, name+"=")) {
				args[i], replaced = want, true
			}
		}
		if !replaced {
			args = append(args, want)
		}
	}
	return args
}
