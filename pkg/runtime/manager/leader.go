package manager

import "github.com/fluxcd/pkg/runtime/leaderelection"

// LeaderElectionID is the name of a controller's Lease:
// <name>-leader-election, suffixed with a short hash of the watch label
// selector when there is one, exactly as Flux names it. Shards (one
// Deployment per selector) then each elect their own leader instead of
// all queueing for one Lease, and a gotk replica replacing a Flux one
// contends for the same Lease rather than leading beside it.
func LeaderElectionID(name, watchLabelSelector string) string {
	id := name + "-leader-election"
	if watchLabelSelector == "" {
		return id
	}
	return leaderelection.GenerateID(id, watchLabelSelector)
}
