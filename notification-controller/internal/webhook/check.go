package webhook

import (
	"fmt"

	"gotk.dev/notification-controller/internal/celexpr"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// filterVars are the variables of spec.resourceFilter and
// resources[].filter: the object (`res`), the JSON body (`req`) and the
// token's claims (`claims`).
var filterVars = []string{"claims", "req", "res"}

// CheckFilter compiles a resource filter; field names it in the error.
func CheckFilter(field, src string) error {
	if _, err := celexpr.CompileBool(src, filterVars...); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// CheckOIDCProviders compiles every variable and validation of
// spec.oidcProviders, so a typo stalls the Receiver instead of refusing
// every request.
func CheckOIDCProviders(providers []notificationv1.OIDCProvider) error {
	for i, p := range providers {
		for j, v := range p.Variables {
			if v.Name == "" {
				return fmt.Errorf("spec.oidcProviders[%d].variables[%d]: name is empty", i, j)
			}
			if _, err := celexpr.Compile(v.Expression, "claims", "vars"); err != nil {
				return fmt.Errorf("spec.oidcProviders[%d].variables[%d] (%s): %w", i, j, v.Name, err)
			}
		}
		for j, v := range p.Validations {
			if _, err := celexpr.CompileBool(v.Expression, "claims", "vars"); err != nil {
				return fmt.Errorf("spec.oidcProviders[%d].validations[%d]: %w", i, j, err)
			}
		}
	}
	return nil
}
