package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/kustomize"
)

// buildFlags select the Kustomization and the local manifests to build.
type buildFlags struct {
	path              string
	kustomizationFile string
	strictSubstitute  bool
	dryRun            bool
}

func (f *buildFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "path", "", "local directory of the manifests the Kustomization's spec.path points at")
	cmd.Flags().StringVar(&f.kustomizationFile, "kustomization-file", "", "read the Kustomization from this YAML file instead of the cluster")
	cmd.Flags().BoolVar(&f.strictSubstitute, "strict-substitute", false,
		"fail the post-build substitution when a variable without a default is referenced but not defined, as the controller does with --feature-gates=StrictPostBuildSubstitutions=true")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false,
		"never contact the cluster: the Kustomization comes from --kustomization-file and substituteFrom is left out (inline substitute still applies)")
}

func newBuildCommand(g *Globals) *cobra.Command {
	f := &buildFlags{}
	root := &cobra.Command{Use: "build", Short: "Build manifests locally exactly as the controller would"}
	cmd := &cobra.Command{
		Use:   "kustomization NAME --path DIR",
		Short: "Build a Kustomization's manifests from a local directory and print them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			objs, _, err := buildLocal(cmd.Context(), g, f, args[0])
			if err != nil {
				return err
			}
			for _, o := range objs {
				data, err := yaml.Marshal(o.Object)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.Out, "---\n%s", data)
			}
			return nil
		},
	}
	f.bind(cmd)
	root.AddCommand(cmd, newBuildArtifact(g))
	return root
}

// buildLocal runs the controller's build (pkg/kustomize) with the
// Kustomization's options and postBuild substitution, set up by the
// controller's own function, over the local directory (substituteFrom is
// read from the cluster when the Kustomization comes from there).
func buildLocal(ctx context.Context, g *Globals, f *buildFlags, name string) ([]*unstructured.Unstructured, *kustomizev1.Kustomization, error) {
	if f.path == "" {
		return nil, nil, errors.New("--path is required: the local directory of the manifests")
	}
	if fi, err := os.Stat(f.path); err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("--path %s is not a directory", f.path)
	}
	if f.dryRun && f.kustomizationFile == "" {
		return nil, nil, errors.New("--dry-run needs --kustomization-file: without the cluster, the Kustomization comes from a file")
	}
	ks, c, err := loadKustomization(ctx, g, f, name)
	if err != nil {
		return nil, nil, err
	}
	postBuild := ks.Spec.PostBuild
	if f.dryRun && postBuild != nil {
		// As Flux's dry run: the variables in the cluster are not read.
		postBuild = postBuild.DeepCopy()
		postBuild.SubstituteFrom = nil
	}
	root, rel := sourceRoot(f.path, ks.Spec.Path)
	files, err := kustomize.LoadDir(root, 0)
	if err != nil {
		return nil, nil, err
	}
	opts := kustomize.OptionsFromSpec(&ks.Spec)
	opts.Path = rel
	var reader client.Reader
	if c != nil {
		reader = c
	}
	if opts.Substitution, err = kustomize.PostBuildSubstitution(ctx, reader, ks.Namespace, postBuild, f.strictSubstitute); err != nil {
		return nil, nil, err
	}
	objs, err := kustomize.Build(files, opts)
	if err != nil {
		return nil, nil, err
	}
	return objs, ks, nil
}

// loadKustomization reads the Kustomization from a file or the cluster;
// the returned client is nil when working from a file.
func loadKustomization(ctx context.Context, g *Globals, f *buildFlags, name string) (*kustomizev1.Kustomization, client.Client, error) {
	ks := &kustomizev1.Kustomization{}
	if f.kustomizationFile != "" {
		data, err := os.ReadFile(f.kustomizationFile)
		if err != nil {
			return nil, nil, err
		}
		if err := yaml.UnmarshalStrict(data, ks); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.kustomizationFile, err)
		}
		if ks.Namespace == "" {
			ks.Namespace = g.Namespace
		}
		return ks, nil, nil
	}
	c, err := g.Client()
	if err != nil {
		return nil, nil, err
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: g.Namespace, Name: name}, ks); err != nil {
		return nil, nil, fmt.Errorf("Kustomization %s/%s: %w (or pass --kustomization-file)", g.Namespace, name, err)
	}
	return ks, c, nil
}

// sourceRoot finds the root of the local source: --path is spec.path's
// directory, so the root is --path without spec.path's trailing
// components (bases in parent folders then resolve as in the controller).
// When they do not match, --path itself is the root.
func sourceRoot(path, specPath string) (root, rel string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, "./"
	}
	clean := strings.Trim(filepath.ToSlash(filepath.Clean(specPath)), "/")
	if clean == "" || clean == "." {
		return abs, "./"
	}
	suffix := string(filepath.Separator) + filepath.FromSlash(clean)
	if !strings.HasSuffix(abs, suffix) {
		return abs, "./"
	}
	return strings.TrimSuffix(abs, suffix), "./" + clean
}
