// Package version holds gotk's release version: the one value the image
// builder tags images with and `gotk install` pulls by default.
package version

// Version is the gotk release. It is a variable so that the image builder
// can stamp the version it tags with into the binaries
// (-ldflags "-X gotk.dev/pkg/version.Version=v1.2.3"); the manifests/
// Deployments name this tag too (a cli test keeps them equal).
var Version = "v0.1.0"

// Path is the import path of this package, for -ldflags -X.
const Path = "gotk.dev/pkg/version"

// Registry is where release images are pushed (<Registry>/<component>:
// <Version>): the image builder's default and the manifests' registry.
const Registry = "ghcr.io/gotk"
