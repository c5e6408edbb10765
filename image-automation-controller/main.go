// Command image-automation-controller runs gotk's image-automation-controller.
package main

import (
	"context"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"gotk.dev/image-automation-controller/internal/controller"
	"gotk.dev/image-automation-controller/internal/tagstore"
	"gotk.dev/pkg/apis"
	"gotk.dev/pkg/runtime/manager"
)

const controllerName = "image-automation-controller"

func main() {
	var (
		opts        manager.Options
		storagePath string
		tenancy     manager.Tenancy
	)
	opts.BindFlags(pflag.CommandLine, 4, true)
	// The scanned tag lists are kept under --storage-path so a restart keeps them.
	pflag.StringVar(&storagePath, "storage-path", "/data", "The local storage path for scanned image tags.")
	tenancy.BindNoCrossNamespaceRefs(pflag.CommandLine)
	pflag.Parse()
	opts.Kinds = controller.Kinds()
	manager.Run(controllerName, apis.MustNewScheme(), opts, func(c *manager.Controller) error {
		store, err := tagstore.Open(storagePath)
		if err != nil {
			return err
		}
		repos := &controller.ImageRepositoryReconciler{
			Client: c.Manager.GetClient(), Events: c.Events, Store: store, ControllerName: controllerName,
			WorkloadIdentity: c.Features.Enabled(manager.GateObjectLevelWorkloadIdentity),
		}
		if err := repos.SetupWithManager(c.Manager, opts.ControllerOptions()); err != nil {
			return err
		}
		policies := &controller.ImagePolicyReconciler{
			Client: c.Manager.GetClient(), Events: c.Events, Store: store, ControllerName: controllerName,
			NoCrossNamespaceRefs: tenancy.NoCrossNamespaceRefs, Shard: c.Shard,
			WorkloadIdentity: c.Features.Enabled(manager.GateObjectLevelWorkloadIdentity),
		}
		if err := policies.SetupWithManager(context.Background(), c.Manager, opts.ControllerOptions()); err != nil {
			return err
		}
		automations := &controller.ImageUpdateAutomationReconciler{
			Client: c.Manager.GetClient(), AllShards: c.AllShards, Events: c.Events, ControllerName: controllerName,
			NoCrossNamespaceRefs: tenancy.NoCrossNamespaceRefs, Shard: c.Shard,
			WorkloadIdentity: c.Features.Enabled(manager.GateObjectLevelWorkloadIdentity),
		}
		return automations.SetupWithManager(c.Manager, opts.ControllerOptions())
	}, &corev1.Secret{}, &corev1.ServiceAccount{}, &corev1.Namespace{})
}
