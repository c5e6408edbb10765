// Command build-images is `make images`: it builds gotk's OCI images with
// gotk.dev/pkg/imagebuild, writes one tarball per platform and, with
// -push, pushes one multi-platform index per component.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"gotk.dev/pkg/imagebuild"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "build-images:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		o          imagebuild.Options
		platforms  = flag.String("platforms", strings.Join(imagebuild.DefaultPlatforms, ","), "comma-separated os/arch list")
		components = flag.String("components", "", "comma-separated components (default all)")
	)
	flag.StringVar(&o.Root, "root", ".", "repository root, where go.work is")
	flag.StringVar(&o.Registry, "registry", imagebuild.DefaultRegistry, "image repository prefix: <registry>/<component>:<version>")
	flag.StringVar(&o.Version, "version", "", "image tag and the binaries' version (default gotk.dev/pkg/version.Version)")
	flag.StringVar(&o.Revision, "revision", "", "source revision label (default: git HEAD)")
	flag.StringVar(&o.OutDir, "out", "dist/images", "directory of the tarballs (empty: none)")
	flag.BoolVar(&o.Push, "push", false, "push each component's index to the registry")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	o.Platforms = strings.Split(*platforms, ",")
	if *components != "" {
		var err error
		if o.Components, err = imagebuild.ComponentsByName(strings.Split(*components, ",")); err != nil {
			return err
		}
	}
	o.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	res, err := imagebuild.Build(ctx, o)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tINDEX\tPLATFORM\tMANIFEST\tLAYERS (compressed)")
	for _, img := range res.Images {
		for _, p := range o.Platforms {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.1f MiB\n", img.Ref, short(img.Index.Hex), p, short(img.Manifests[p].Hex), float64(img.Sizes[p])/(1<<20))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, p := range o.Platforms {
		if path := res.Tarballs[p]; path != "" {
			fmt.Printf("%s: %s\n", p, path)
		}
	}
	fmt.Printf("built in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func short(hex string) string { return "sha256:" + hex[:12] }
