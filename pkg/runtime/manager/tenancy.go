package manager

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"gotk.dev/pkg/runtime/reconcile"
)

// Flux's names of the service-account flags of the multi-tenancy lockdown.
const (
	FlagDefaultServiceAccount           = "default-service-account"
	FlagDefaultKubeConfigServiceAccount = "default-kubeconfig-service-account"
	FlagDefaultDecryptionServiceAccount = "default-decryption-service-account"
)

// Tenancy holds the multi-tenancy lockdown flags. A controller binds the
// ones Flux gives it; the others stay empty.
type Tenancy struct {
	// NoCrossNamespaceRefs refuses references to other namespaces.
	NoCrossNamespaceRefs bool
	// DefaultServiceAccount is impersonated when an object names none.
	DefaultServiceAccount string
	// DefaultKubeConfigServiceAccount is the identity of a kubeConfig
	// configMapRef whose ConfigMap names none.
	DefaultKubeConfigServiceAccount string
	// DefaultDecryptionServiceAccount is the identity of SOPS cloud KMS
	// decryption when spec.decryption names none (kustomize only).
	DefaultDecryptionServiceAccount string
}

// BindNoCrossNamespaceRefs registers --no-cross-namespace-refs.
func (t *Tenancy) BindNoCrossNamespaceRefs(fs *pflag.FlagSet) {
	fs.BoolVar(&t.NoCrossNamespaceRefs, reconcile.FlagNoCrossNamespaceRefs, false,
		"When set to true, references between custom resources are allowed only if the reference and the referee are in the same namespace.")
}

// BindServiceAccounts registers --default-service-account and
// --default-kubeconfig-service-account.
func (t *Tenancy) BindServiceAccounts(fs *pflag.FlagSet) {
	fs.StringVar(&t.DefaultServiceAccount, FlagDefaultServiceAccount, "",
		"Default service account impersonated in the object's namespace when it names none.")
	fs.StringVar(&t.DefaultKubeConfigServiceAccount, FlagDefaultKubeConfigServiceAccount, "",
		"Default service account whose token authenticates a spec.kubeConfig.configMapRef whose ConfigMap names none (needs the ObjectLevelWorkloadIdentity feature gate).")
}

// BindDecryptionServiceAccount registers --default-decryption-service-account.
func (t *Tenancy) BindDecryptionServiceAccount(fs *pflag.FlagSet) {
	fs.StringVar(&t.DefaultDecryptionServiceAccount, FlagDefaultDecryptionServiceAccount, "",
		"Default service account whose workload identity decrypts SOPS cloud KMS keys of a Kustomization whose spec.decryption names none (needs the ObjectLevelWorkloadIdentity feature gate).")
}

// Validate checks that each service account name set is a valid name.
func (t *Tenancy) Validate() error {
	for _, f := range []struct{ flag, value string }{
		{FlagDefaultServiceAccount, t.DefaultServiceAccount},
		{FlagDefaultKubeConfigServiceAccount, t.DefaultKubeConfigServiceAccount},
		{FlagDefaultDecryptionServiceAccount, t.DefaultDecryptionServiceAccount},
	} {
		if f.value == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(f.value); len(errs) > 0 {
			return fmt.Errorf("--%s=%q is not a service account name: %s", f.flag, f.value, errs[0])
		}
	}
	return nil
}
