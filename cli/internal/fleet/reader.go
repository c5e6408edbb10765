package fleet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// repoReader serves the ConfigMaps and Secrets rendered from the fleet
// to postBuild substitution, as the cluster would once they are applied:
// substituteFrom names objects of the repository, not of a live cluster.
// It also keeps the repository's chart sources and ArtifactGenerators.
type repoReader struct {
	objs       map[string]*unstructured.Unstructured // kind/namespace/name
	generators []*unstructured.Unstructured
}

func newRepoReader() *repoReader { return &repoReader{objs: map[string]*unstructured.Unstructured{}} }

func (r *repoReader) add(obj *unstructured.Unstructured) {
	if isGenerator(obj) {
		r.generators = append(r.generators, obj)
		return
	}
	helmRepo := (obj.GetKind() == "HelmRepository" || obj.GetKind() == "OCIRepository") && obj.GroupVersionKind().Group == "source.toolkit.fluxcd.io"
	if helmRepo || obj.GetAPIVersion() == "v1" && (obj.GetKind() == "ConfigMap" || obj.GetKind() == "Secret") {
		r.objs[obj.GetKind()+"/"+obj.GetNamespace()+"/"+obj.GetName()] = obj
	}
}

// find returns the object Kind/namespace/name rendered from the
// repository, or nil.
func (r *repoReader) find(key string) *unstructured.Unstructured { return r.objs[key] }

// Get implements client.Reader for ConfigMaps and Secrets.
func (r *repoReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	var kind string
	switch obj.(type) {
	case *corev1.ConfigMap:
		kind = "ConfigMap"
	case *corev1.Secret:
		kind = "Secret"
	default:
		return fmt.Errorf("only ConfigMaps and Secrets are read from the repository, not %T", obj)
	}
	u, ok := r.objs[kind+"/"+key.Namespace+"/"+key.Name]
	if !ok {
		return apierrors.NewNotFound(corev1.Resource(kind), key.Name)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return fmt.Errorf("%s %s: %w", kind, key, err)
	}
	// The API server folds stringData into data.
	if s, ok := obj.(*corev1.Secret); ok && len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	return nil
}

// List implements client.Reader; substitution never lists.
func (r *repoReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("listing is not supported on the repository's objects")
}

// splitDocs splits a YAML stream into its documents.
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := rd.Read()
		if err != nil {
			// io.EOF, or a stream kustomize reports when it reads the file.
			return docs
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

func yamlUnmarshal(doc []byte, v any) error { return yaml.Unmarshal(doc, v) }
