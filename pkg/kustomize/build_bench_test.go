package kustomize

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBuildConfigMaps builds one folder of n ConfigMaps in one file
// into a target namespace, with no kustomization file: the shape of the
// controller's large-Kustomization benchmark, without a cluster.
func BenchmarkBuildConfigMaps(b *testing.B) {
	for _, n := range []int{500, 1000, 2000, 5000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			var docs strings.Builder
			for i := range n {
				fmt.Fprintf(&docs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  key: value-%d\n---\n", i, i)
			}
			f, err := NewFiles(map[string][]byte{"app/all.yaml": []byte(docs.String())})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				objs, err := Build(f, Options{Path: "app", TargetNamespace: "ns"})
				if err != nil || len(objs) != n {
					b.Fatalf("%d objects, %v", len(objs), err)
				}
			}
		})
	}
}
