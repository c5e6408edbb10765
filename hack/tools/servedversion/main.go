// Command servedversion adds a served, non-storage copy of a CRD's storage
// version under another name (conversion None), so one set of Go types can
// back two API versions with the same schema.
//
//	servedversion -version v1beta2 file.yaml...
package main

import (
	"flag"
	"fmt"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	version := flag.String("version", "", "name of the extra served version")
	flag.Parse()
	if *version == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: servedversion -version NAME FILE...")
		os.Exit(2)
	}
	for _, file := range flag.Args() {
		if err := addVersion(file, *version); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(1)
		}
	}
}

func addVersion(file, version string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return err
	}
	var storage *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Name == version {
			return fmt.Errorf("version %s already present", version)
		}
		if v.Storage {
			storage = v
		}
	}
	if storage == nil {
		return fmt.Errorf("no storage version")
	}
	extra := *storage.DeepCopy()
	extra.Name = version
	extra.Storage = false
	extra.Served = true
	crd.Spec.Versions = append(crd.Spec.Versions, extra)
	crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	out, err := withoutServerFields(&crd)
	if err != nil {
		return err
	}
	return os.WriteFile(file, append([]byte("---\n"), out...), 0o644)
}

// withoutServerFields marshals the CRD without the status and creation
// timestamp the typed struct always carries, as controller-gen writes it.
func withoutServerFields(crd *apiextensionsv1.CustomResourceDefinition) ([]byte, error) {
	data, err := yaml.Marshal(crd)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}
