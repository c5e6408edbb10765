package action

import (
	"fmt"

	helmrelease "helm.sh/helm/v4/pkg/release/v1"
)

// v1Release returns the Helm v1 release (the only kind the Secret storage
// holds) behind what Helm 4's actions return as an untyped Releaser.
func v1Release(r any) (*helmrelease.Release, error) {
	switch rls := r.(type) {
	case nil:
		return nil, nil
	case *helmrelease.Release:
		return rls, nil
	case helmrelease.Release:
		return &rls, nil
	default:
		return nil, fmt.Errorf("unsupported Helm release type %T", r)
	}
}

// result is v1Release of an action's outcome; the action's error wins, but
// a release that came with it (a failed install's) is still returned.
func result(r any, err error) (*helmrelease.Release, error) {
	rls, cerr := v1Release(r)
	if err != nil {
		return rls, err
	}
	return rls, cerr
}
