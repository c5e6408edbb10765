package testenv_test

import (
	"k8s.io/client-go/discovery"

	"gotk.dev/pkg/testenv"
)

func discoveryVersion(e *testenv.Environment) (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		return "", err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}
