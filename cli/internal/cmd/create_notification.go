package cmd

import (
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/spf13/cobra"

	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	notificationv1beta3 "gotk.dev/pkg/apis/notification/v1beta3"
)

func newCreateAlertProvider(g *Globals, cf *createFlags) *cobra.Command {
	var typ, channel, address, username, secret string
	cmd := &cobra.Command{
		Use:   "alert-provider NAME --type TYPE",
		Short: "Create a notification Provider (Slack, Teams, a webhook…)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ == "" {
				return errors.New("--type is required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &notificationv1beta3.Provider{ObjectMeta: om, Spec: notificationv1beta3.ProviderSpec{
				Type: typ, Channel: channel, Address: address, Username: username, SecretRef: secretRef(secret)}}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "provider type, e.g. slack, msteams, generic")
	f.StringVar(&channel, "channel", "", "channel to post to")
	f.StringVar(&address, "address", "", "webhook or API address")
	f.StringVar(&username, "username", "", "bot user name")
	f.StringVar(&secret, "secret-ref", "", "Secret with the address or token")
	return cmd
}

func newCreateAlert(g *Globals, cf *createFlags) *cobra.Command {
	var provider, severity string
	var sources, exclusions []string
	cmd := &cobra.Command{
		Use:   "alert NAME --provider-ref PROVIDER --event-source KIND/NAME",
		Short: "Create an Alert (which events go to which provider)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if provider == "" || len(sources) == 0 {
				return errors.New("--provider-ref and at least one --event-source are required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &notificationv1beta3.Alert{ObjectMeta: om, Spec: notificationv1beta3.AlertSpec{
				ProviderRef: meta.LocalObjectReference{Name: provider}, EventSeverity: severity, ExclusionList: exclusions}}
			for _, s := range sources {
				kind, name, ns, err := parseRef(s, "--event-source")
				if err != nil {
					return err
				}
				obj.Spec.EventSources = append(obj.Spec.EventSources,
					notificationv1beta3.CrossNamespaceObjectReference{Kind: kind, Name: name, Namespace: ns})
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider-ref", "", "Provider to send to")
	f.StringVar(&severity, "event-severity", "info", "info (all events) or error")
	f.StringSliceVar(&sources, "event-source", nil, "objects whose events are sent, as Kind/name (name may be *)")
	f.StringSliceVar(&exclusions, "exclusion", nil, "regular expressions of messages to drop")
	return cmd
}

func newCreateReceiver(g *Globals, cf *createFlags) *cobra.Command {
	var typ, secret string
	var events, resources []string
	cmd := &cobra.Command{
		Use:   "receiver NAME --type TYPE --resource KIND/NAME --secret-ref SECRET",
		Short: "Create a Receiver (a webhook that triggers reconciles)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ == "" || len(resources) == 0 {
				return errors.New("--type and at least one --resource are required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &notificationv1.Receiver{ObjectMeta: om, Spec: notificationv1.ReceiverSpec{
				Type: typ, Events: events, SecretRef: secretRef(secret)}}
			for _, r := range resources {
				kind, name, ns, err := parseRef(r, "--resource")
				if err != nil {
					return err
				}
				obj.Spec.Resources = append(obj.Spec.Resources, notificationv1.CrossNamespaceObjectReference{Kind: kind, Name: name, Namespace: ns})
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "receiver type, e.g. github, gitlab, generic")
	f.StringSliceVar(&events, "event", nil, "events to accept, e.g. push")
	f.StringSliceVar(&resources, "resource", nil, "objects to reconcile, as Kind/name")
	f.StringVar(&secret, "secret-ref", "", "Secret with the webhook token")
	return cmd
}
