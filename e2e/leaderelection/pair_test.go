package leaderelection

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/testenv"
)

// story is one controller's leader election test.
type story struct {
	// controller is the binary's name.
	controller string
	// selector is the replicas' --watch-label-selector, if any.
	selector string
	// reconciled creates an object of the controller's kind called name
	// in the pair's namespace and returns a check that is nil once that
	// object has been reconciled.
	reconciled func(ctx context.Context, t *testing.T, p *pair, name string) func() error
	// beforeKill runs once the first leader reconciled its object;
	// afterTakeover once the new leader reconciled a new one.
	beforeKill, afterTakeover func(ctx context.Context, t *testing.T, p *pair)
}

// pair is two replicas of a controller and what the story saw of them.
type pair struct {
	reps *testenv.Replicas
	// ns is the namespace of the story's objects.
	ns string
	// lease is the name of the replicas' Lease.
	lease string
	// leader leads until killed; standby then takes over.
	leader, standby *testenv.Replica
	// killed is when the leader was SIGKILLed.
	killed time.Time
}

// run starts two replicas, checks one holds the Lease and reconciles,
// SIGKILLs it, and checks the other takes the Lease over and reconciles
// a new object. It returns the time from the kill to that reconcile.
func (s story) run(ctx context.Context, t *testing.T) time.Duration {
	reps, err := startReplicas(ctx, s.controller, 2, s.selector)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reps.Stop)
	p := &pair{reps: reps, ns: env.NewNamespace(t), lease: manager.LeaderElectionID(s.controller, s.selector)}

	holder := ""
	eventually(t, reps, time.Minute, "Lease "+p.lease+" held", func() error {
		var err error
		if holder, err = leaseHolder(ctx, p.lease); err != nil || holder == "" {
			return fmt.Errorf("holder %q: %v", holder, err)
		}
		return nil
	})
	p.leader = p.waitLeader(t, "the first leader")
	p.standby = reps.List[1-p.leader.Index]
	t.Logf("replica %d holds Lease %s as %s; replica %d stands by", p.leader.Index, p.lease, holder, p.standby.Index)
	eventually(t, reps, time.Minute, "reconciled by the first leader", s.reconciled(ctx, t, p, "before"))
	if s.beforeKill != nil {
		s.beforeKill(ctx, t, p)
	}

	p.killed = time.Now()
	killed := p.killed
	if err := reps.Kill(p.leader); err != nil {
		t.Fatal(err)
	}
	eventually(t, reps, time.Minute, "Lease taken over", func() error {
		now, err := leaseHolder(ctx, p.lease)
		if err != nil || now == "" || now == holder {
			return fmt.Errorf("holder %q (was %q): %v", now, holder, err)
		}
		return nil
	})
	leaseMoved := time.Since(killed)
	if got := p.waitLeader(t, "the new leader"); got != p.standby {
		t.Fatalf("replica %d leads, want the standby %d", got.Index, p.standby.Index)
	}
	check := s.reconciled(ctx, t, p, "after")
	eventually(t, reps, time.Minute, "a new object reconciled by the new leader", check)
	takeover := time.Since(killed)
	t.Logf("SIGKILL → Lease moved in %s, new object reconciled in %s", leaseMoved.Round(time.Millisecond), takeover.Round(time.Millisecond))
	if s.afterTakeover != nil {
		s.afterTakeover(ctx, t, p)
	}
	return takeover
}

// waitLeader waits until exactly one running replica says it leads.
func (p *pair) waitLeader(t testing.TB, what string) *testenv.Replica {
	t.Helper()
	var leader *testenv.Replica
	eventually(t, p.reps, time.Minute, what, func() error {
		leader = nil
		for _, rep := range p.reps.List {
			if !p.reps.Running(rep) {
				continue
			}
			ok, err := leading(rep)
			if err != nil {
				return err
			}
			if ok && leader != nil {
				t.Fatalf("replicas %d and %d both lead", leader.Index, rep.Index)
			}
			if ok {
				leader = rep
			}
		}
		if leader == nil {
			return fmt.Errorf("no replica leads")
		}
		return nil
	})
	return leader
}
