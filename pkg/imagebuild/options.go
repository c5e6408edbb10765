package imagebuild

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"gotk.dev/pkg/version"
)

// DefaultRegistry is where gotk's images live unless Options.Registry says
// otherwise; `gotk install` pulls from it by default.
const DefaultRegistry = version.Registry

// DefaultSource is the org.opencontainers.image.source label: the module
// path's host, which serves the source.
const DefaultSource = "https://gotk.dev"

// DefaultLicenses is the org.opencontainers.image.licenses label (SPDX):
// the repository declares no license yet.
const DefaultLicenses = "NOASSERTION"

// ControllerEntrypoint is the binary path in every controller image; the
// manifests/ Deployments set no command, so this is what they run.
const ControllerEntrypoint = "/manager"

// CLIEntrypoint is the binary path in the gotk CLI image.
const CLIEntrypoint = "/gotk"

// UIPackage is the web UI server's own main package; its binary, gotk-ui,
// goes beside gotk in the gotk image, where the gotk-ui Deployment runs it.
const UIPackage = "./cli/cmd/gotk-ui"

// Component is one image: a main package and where its binary goes.
type Component struct {
	// Name is the image name under the registry, e.g. source-controller.
	Name string
	// Package is the main package relative to Options.Root, e.g. ./cli.
	Package string
	// Entrypoint is the binary's absolute path in the image.
	Entrypoint string
	// Description is the org.opencontainers.image.description label.
	Description string
	// Helpers are more main packages (relative to Options.Root) whose
	// binaries go beside the entrypoint, named after their directory.
	Helpers []string
	// ControlPlane puts kube-apiserver and etcd of Options.ControlPlaneDir
	// beside the entrypoint, where `gotk test` looks for them.
	ControlPlane bool
}

// Components are gotk's images: the five controllers and the CLI.
var Components = []Component{
	{Name: "source-controller", Package: "./source-controller", Entrypoint: ControllerEntrypoint,
		Description: "Fetches Git, OCI, Helm and S3 sources and serves them as artifacts"},
	{Name: "kustomize-controller", Package: "./kustomize-controller", Entrypoint: ControllerEntrypoint,
		Description: "Builds Kustomizations and applies them with server-side apply"},
	{Name: "helm-controller", Package: "./helm-controller", Entrypoint: ControllerEntrypoint,
		Description: "Installs, upgrades and remediates HelmReleases"},
	{Name: "image-automation-controller", Package: "./image-automation-controller", Entrypoint: ControllerEntrypoint,
		Description: "Scans image registries, picks tags by policy and commits updates to Git"},
	{Name: "notification-controller", Package: "./notification-controller", Entrypoint: ControllerEntrypoint,
		Description: "Dispatches events to chat and webhooks; receives webhooks"},
	{Name: "gotk", Package: "./cli", Entrypoint: CLIEntrypoint, Helpers: []string{UIPackage},
		Description: "The gotk command: install, bootstrap and operate gotk"},
}

// GotkTest is the image CI runs `gotk test` from: gotk, its SOPS helper
// gotk-sops, and the local control plane's kube-apiserver and etcd, all in
// /, so gotk finds them beside itself. The control plane binaries are the
// build host's (`make controlplane`), so it is built for the host's
// platform only and is not among Components.
var GotkTest = Component{Name: "gotk-test", Package: "./cli", Entrypoint: CLIEntrypoint,
	Helpers: []string{"./pkg/sops/cmd/gotk-sops"}, ControlPlane: true,
	Description: "gotk with kube-apiserver and etcd: gotk test checks a fleet repository in CI"}

// ComponentsByName returns the named components of Components and
// GotkTest, in the order given; an unknown name is an error that lists
// the known ones.
func ComponentsByName(names []string) ([]Component, error) {
	all := append(slices.Clip(Components), GotkTest)
	var out []Component
	for _, n := range names {
		i := slices.IndexFunc(all, func(c Component) bool { return c.Name == n })
		if i < 0 {
			known := make([]string, len(all))
			for j, c := range all {
				known[j] = c.Name
			}
			return nil, fmt.Errorf("unknown component %q (known: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// DefaultPlatforms are built unless Options.Platforms says otherwise.
var DefaultPlatforms = []string{"linux/amd64", "linux/arm64"}

// Options say what to build and where it goes. Only Root is required.
type Options struct {
	// Root is the repository root (the directory of go.work); go build
	// runs there.
	Root string
	// Components to build (default Components).
	Components []Component
	// Platforms as os/arch, linux only (default DefaultPlatforms).
	Platforms []string
	// Registry is the repository prefix of the image references,
	// <Registry>/<component>:<Version> (default DefaultRegistry).
	Registry string
	// Version is the image tag, stamped into the binaries as
	// gotk.dev/pkg/version.Version (default that variable's value).
	Version string
	// Revision is the source commit for the labels (default: git HEAD of
	// Root).
	Revision string
	// Created is every timestamp in the images (default: SourceDate).
	Created time.Time
	// Source and Licenses are labels (default DefaultSource and
	// DefaultLicenses).
	Source, Licenses string
	// OutDir, when set, receives one docker-save style tarball per platform
	// holding every component: <OutDir>/gotk-<Version>-<os>-<arch>.tar.
	OutDir string
	// Push writes each component's index to <Registry>/<name>:<Version>.
	Push bool
	// Keychain authenticates the push (default authn.DefaultKeychain, the
	// docker/podman login files).
	Keychain authn.Keychain
	// ControlPlaneDir holds kube-apiserver and etcd for components with
	// ControlPlane (default $GOTK_CONTROLPLANE_BIN, else <Root>/bin, where
	// `make controlplane` links them).
	ControlPlaneDir string
	// WorkDir holds the binaries and layers while building (default a
	// temporary directory, removed afterwards).
	WorkDir string
	// Log receives progress lines (default discarded).
	Log io.Writer
}

// Result is what a Build made.
type Result struct {
	// Images, one per component, in the order built.
	Images []Image
	// Tarballs maps a platform (linux/amd64) to its tarball path.
	Tarballs map[string]string
}

// Image is one component's multi-platform image.
type Image struct {
	Component Component
	// Ref is <Registry>/<name>:<Version>.
	Ref name.Tag
	// Index is the image index's digest (what a push stores under Ref).
	Index v1.Hash
	// Manifests maps a platform to its image manifest's digest.
	Manifests map[string]v1.Hash
	// Sizes maps a platform to the sum of its compressed layer sizes.
	Sizes map[string]int64
}

// platform is a parsed linux/<arch>.
type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

func parsePlatform(s string) (platform, error) {
	os, arch, ok := strings.Cut(s, "/")
	if !ok || os != "linux" || arch == "" || strings.Contains(arch, "/") {
		return platform{}, fmt.Errorf("platform %q: want linux/<arch>, e.g. linux/amd64", s)
	}
	return platform{os, arch}, nil
}

// validate names the first bad option.
func (o Options) validate() error {
	if o.Root == "" {
		return errors.New("imagebuild: Options.Root is required")
	}
	if len(o.Components) == 0 {
		return errors.New("imagebuild: no components")
	}
	seen := map[string]bool{}
	for _, c := range o.Components {
		if c.Name == "" || c.Package == "" || !strings.HasPrefix(c.Entrypoint, "/") {
			return fmt.Errorf("imagebuild: component %+v needs a name, a package and an absolute entrypoint", c)
		}
		if slices.Contains(c.Helpers, "") {
			return fmt.Errorf("imagebuild: component %q has an empty helper package", c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("imagebuild: component %q twice", c.Name)
		}
		seen[c.Name] = true
	}
	for _, p := range o.Platforms {
		if _, err := parsePlatform(p); err != nil {
			return err
		}
	}
	if _, err := name.NewTag(o.Registry + "/x:" + o.Version); err != nil {
		return fmt.Errorf("imagebuild: registry %q and version %q do not make an image reference: %w", o.Registry, o.Version, err)
	}
	return nil
}
