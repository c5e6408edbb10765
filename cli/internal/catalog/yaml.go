package catalog

import "sigs.k8s.io/yaml"

// CleanYAML marshals an object as a user would commit it: without the
// empty status and creation timestamp a freshly built object carries.
func CleanYAML(obj any) ([]byte, error) {
	data, err := yaml.Marshal(obj)
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
