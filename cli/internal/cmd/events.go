package cmd

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
)

func newEventsCommand(g *Globals) *cobra.Command {
	var (
		forObj        string
		allNamespaces bool
		watch         bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the Kubernetes events of gotk objects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind, name, err := parseFor(forObj)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for {
				if err := printEvents(cmd.Context(), g, kind, name, allNamespaces, seen); err != nil {
					return err
				}
				if !watch {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(2 * time.Second):
				}
			}
		},
	}
	cmd.Flags().StringVar(&forObj, "for", "", "only the events of one object, as Kind/name (e.g. Kustomization/apps)")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "events of all namespaces")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "keep printing new events until interrupted")
	return cmd
}

func parseFor(s string) (kind, name string, err error) {
	if s == "" {
		return "", "", nil
	}
	kind, name, ok := strings.Cut(s, "/")
	if !ok || kind == "" || name == "" {
		return "", "", fmt.Errorf("--for wants Kind/name, got %q", s)
	}
	if _, err := catalog.ByKind(kind); err != nil {
		return "", "", err
	}
	return kind, name, nil
}

// printEvents prints the events not printed before (seen) in time order.
func printEvents(ctx context.Context, g *Globals, kind, name string, all bool, seen map[string]bool) error {
	c, err := g.Client()
	if err != nil {
		return err
	}
	var list corev1.EventList
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(g.Namespace))
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return fmt.Errorf("listing events: %w", err)
	}
	var events []corev1.Event
	for _, e := range list.Items {
		if _, err := catalog.ByKind(e.InvolvedObject.Kind); err != nil {
			continue
		}
		if kind != "" && (e.InvolvedObject.Kind != kind || e.InvolvedObject.Name != name) {
			continue
		}
		key := fmt.Sprintf("%s/%d", e.UID, e.Count)
		if seen[key] {
			continue
		}
		seen[key] = true
		events = append(events, e)
	}
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	if len(events) == 0 && len(seen) == 0 {
		fmt.Fprintln(g.Out, "no events found")
		return nil
	}
	tw := tabwriter.NewWriter(g.Out, 0, 4, 3, ' ', 0)
	if len(seen) == len(events) {
		fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	}
	for _, e := range events {
		age := time.Since(eventTime(e)).Round(time.Second)
		fmt.Fprintf(tw, "%s ago\t%s\t%s\t%s/%s\t%s\n", age, e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name,
			strings.ReplaceAll(e.Message, "\n", " "))
	}
	return tw.Flush()
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}
