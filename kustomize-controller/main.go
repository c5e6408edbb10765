// Command kustomize-controller runs gotk's kustomize-controller.
package main

import (
	"github.com/spf13/pflag"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/runtime/manager"
)

const controllerName = "kustomize-controller"

func main() {
	var opts manager.Options
	opts.BindFlags(pflag.CommandLine, 4, true)
	pflag.Parse()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(*manager.Controller) error {
		return nil
	})
}
