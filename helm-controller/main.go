// Command helm-controller runs gotk's helm-controller.
package main

import (
	"github.com/spf13/pflag"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/runtime/manager"
)

const controllerName = "helm-controller"

func main() {
	var opts manager.Options
	opts.BindFlags(pflag.CommandLine, 4, true)
	pflag.Parse()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(*manager.Controller) error {
		return nil
	})
}
