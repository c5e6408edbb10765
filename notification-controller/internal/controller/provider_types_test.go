package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/notification-controller/internal/notifier"
	notificationv1 "gotk.dev/pkg/apis/notification/v1beta3"
)

// TestProviderTypesRefusedAtCreation walks every type of the installed
// Provider CRD: the API server accepts exactly the types the notifier can
// send to and refuses the others, naming the type, when the Provider is
// created — never silently at the first event.
func TestProviderTypesRefusedAtCreation(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "providers.notification.toolkit.fluxcd.io"}, crd); err != nil {
		t.Fatalf("reading the Provider CRD: %v", err)
	}
	types := providerTypeEnum(t, crd)
	if len(types) < 30 {
		t.Fatalf("the CRD lists %d provider types, want Flux's full set", len(types))
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			p := &notificationv1.Provider{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.ReplaceAll(typ, ".", "-")},
				Spec:       notificationv1.ProviderSpec{Type: typ, Address: "https://example.org/org/app"},
			}
			createErr := env.Client.Create(ctx, p)
			_, newErr := notifier.New(notifier.Config{Type: typ})
			unsupported := errors.Is(newErr, notifier.ErrNotSupported)
			switch {
			case unsupported && createErr == nil:
				t.Fatalf("type %s is not implemented but the API server accepted it", typ)
			case unsupported && (!apierrors.IsInvalid(createErr) || !strings.Contains(createErr.Error(), "provider type "+typ+" is not supported")):
				t.Fatalf("create err = %v, want Invalid naming the type", createErr)
			case !unsupported && createErr != nil:
				t.Fatalf("type %s is implemented but the API server refused it: %v", typ, createErr)
			}
		})
	}
}

func providerTypeEnum(t *testing.T, crd *unstructured.Unstructured) []string {
	t.Helper()
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if vm["name"] != "v1beta3" {
			continue
		}
		enum, _, _ := unstructured.NestedSlice(vm, "schema", "openAPIV3Schema", "properties", "spec", "properties", "type", "enum")
		out := make([]string, 0, len(enum))
		for _, e := range enum {
			out = append(out, e.(string))
		}
		return out
	}
	t.Fatal("the Provider CRD serves no v1beta3")
	return nil
}
