package release

import (
	"testing"

	. "github.com/onsi/gomega"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	releasecommon "helm.sh/helm/v4/pkg/release/common"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/helm/values"
)

func rls(version int, status releasecommon.Status, chartVersion string, cfg map[string]any) *helmrelease.Release {
	return &helmrelease.Release{
		Name: "app", Namespace: "ns", Version: version,
		Info:   &helmrelease.Info{Status: status},
		Chart:  &helmchart.Chart{Metadata: &helmchart.Metadata{Name: "app", Version: chartVersion}},
		Config: cfg,
		Hooks:  []*helmrelease.Hook{{Name: "t", Events: []helmrelease.HookEvent{helmrelease.HookTest}}},
	}
}

func TestNext(t *testing.T) {
	vals := map[string]any{"a": "1"}
	desired := Desired{ChartName: "app", ChartVersion: "1.0.0", Revision: "1.0.0", ConfigDigest: values.Digest(vals)}
	deployed := rls(1, releasecommon.StatusDeployed, "1.0.0", vals)
	snapshot := func(r *helmrelease.Release, tested string) helmv2.Snapshots {
		s := NewSnapshot(r, "install", "")
		if tested != "" {
			s.SetTestHooks(map[string]*helmv2.TestHookStatus{"t": {Phase: tested}})
		}
		return helmv2.Snapshots{s}
	}

	tests := []struct {
		name   string
		obj    func(*helmv2.HelmRelease)
		cur    *helmrelease.Release
		d      func(*Desired)
		action Action
		msg    string
	}{
		{name: "no release installs", cur: nil, action: Install},
		{name: "uninstalled release installs", cur: rls(1, releasecommon.StatusUninstalled, "1.0.0", vals), action: Install},
		{name: "unchanged and recorded is in sync",
			obj: func(o *helmv2.HelmRelease) { o.Status.History = snapshot(deployed, "") }, cur: deployed, action: None},
		{name: "values changed upgrades", obj: func(o *helmv2.HelmRelease) { o.Status.History = snapshot(deployed, "") },
			cur: deployed, d: func(d *Desired) { d.ConfigDigest = values.Digest(map[string]any{"a": "2"}) }, action: Upgrade, msg: "values changed"},
		{name: "chart version changed upgrades", obj: func(o *helmv2.HelmRelease) { o.Status.History = snapshot(deployed, "") },
			cur: deployed, d: func(d *Desired) { d.ChartVersion = "1.1.0" }, action: Upgrade, msg: "chart changed from app@1.0.0 to app@1.1.0"},
		{name: "release unknown to history upgrades", cur: deployed, action: Upgrade, msg: "changed outside the controller"},
		{name: "force upgrades", obj: func(o *helmv2.HelmRelease) { o.Status.History = snapshot(deployed, "") },
			cur: deployed, d: func(d *Desired) { d.Force = true }, action: Upgrade, msg: "forceAt"},
		{name: "pending release unlocks", cur: rls(2, releasecommon.StatusPendingUpgrade, "1.0.0", vals), action: Unlock, msg: "locked in pending-upgrade"},
		{name: "failed release upgrades", cur: rls(2, releasecommon.StatusFailed, "1.0.0", vals), action: Upgrade, msg: "is failed"},
		{name: "untested release with tests enabled tests",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Test = &helmv2.Test{Enable: true}
				o.Status.History = snapshot(deployed, "")
			}, cur: deployed, action: Test},
		{name: "tested release is in sync",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Test = &helmv2.Test{Enable: true}
				o.Status.History = snapshot(deployed, "Succeeded")
			}, cur: deployed, action: None},
		{name: "failed tests not ignored retry the upgrade",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Test = &helmv2.Test{Enable: true}
				o.Status.History = snapshot(deployed, "Failed")
			}, cur: deployed, action: Upgrade, msg: "tests of release ns/app.v1 failed"},
		{name: "failed tests ignored are in sync",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Test = &helmv2.Test{Enable: true, IgnoreFailures: true}
				o.Status.History = snapshot(deployed, "Failed")
			}, cur: deployed, action: None},
		{name: "upgrade retries exhausted stalls",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 1}}
				o.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionUpgrade
				o.Status.UpgradeFailures = 2
				o.Status.History = snapshot(deployed, "")
			}, cur: deployed, d: func(d *Desired) { d.ConfigDigest = "sha256:other" }, action: Stall, msg: "upgrade retries exhausted after 2 failure(s)"},
		{name: "retries left upgrades again",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: 2}}
				o.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionUpgrade
				o.Status.UpgradeFailures = 2
				o.Status.History = snapshot(deployed, "")
			}, cur: deployed, d: func(d *Desired) { d.ConfigDigest = "sha256:other" }, action: Upgrade},
		{name: "install retries exhausted stalls with nothing installed",
			obj: func(o *helmv2.HelmRelease) {
				o.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionInstall
				o.Status.InstallFailures = 1
			}, cur: nil, action: Stall},
		{name: "in sync wins over exhausted counters",
			obj: func(o *helmv2.HelmRelease) {
				o.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionUpgrade
				o.Status.UpgradeFailures = 5
				o.Status.History = snapshot(deployed, "")
			}, cur: deployed, action: None},
		{name: "RetryOnFailure never stalls",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Install = &helmv2.Install{Strategy: &helmv2.InstallStrategy{Name: string(helmv2.ActionStrategyRetryOnFailure)}}
				o.Status.LastAttemptedReleaseAction = helmv2.ReleaseActionInstall
				o.Status.InstallFailures = 7
			}, cur: rls(1, releasecommon.StatusFailed, "1.0.0", vals), action: Upgrade},
		{name: "preserved values are not a change",
			obj: func(o *helmv2.HelmRelease) {
				o.Spec.Upgrade = &helmv2.Upgrade{PreserveValues: true}
				o.Status.LastAttemptedConfigDigest = "sha256:composed"
				o.Status.History = snapshot(deployed, "")
			}, cur: deployed, d: func(d *Desired) { d.ConfigDigest = "sha256:composed" }, action: None},
		{name: "OCI digest change upgrades",
			obj: func(o *helmv2.HelmRelease) { o.Status.History = snapshot(deployed, "") },
			cur: deployed, d: func(d *Desired) { d.OCIDigest = "sha256:new" }, action: Upgrade, msg: "digest changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &helmv2.HelmRelease{}
			obj.Name, obj.Namespace = "app", "ns"
			if tt.obj != nil {
				tt.obj(obj)
			}
			d := desired
			if tt.d != nil {
				tt.d(&d)
			}
			got := Next(obj, tt.cur, d)
			g.Expect(got.Action).To(Equal(tt.action), got.Message)
			g.Expect(got.Message).To(ContainSubstring(tt.msg))
		})
	}
}

func TestRecordKeepsRollbackTarget(t *testing.T) {
	g := NewWithT(t)
	var h helmv2.Snapshots
	vals := map[string]any{}
	Record(&h, NewSnapshot(rls(1, releasecommon.StatusDeployed, "1.0.0", vals), "install", ""), false)
	Record(&h, NewSnapshot(rls(2, releasecommon.StatusFailed, "1.0.1", vals), "upgrade", ""), false)
	Record(&h, NewSnapshot(rls(3, releasecommon.StatusFailed, "1.0.2", vals), "upgrade", ""), false)
	g.Expect(h.Latest().Version).To(Equal(3))
	g.Expect(h.Previous(false).Version).To(Equal(1))
	// Recording the same version again replaces it and keeps test results.
	s := NewSnapshot(rls(3, releasecommon.StatusFailed, "1.0.2", vals), "upgrade", "")
	s.SetTestHooks(map[string]*helmv2.TestHookStatus{})
	Record(&h, s, false)
	Record(&h, NewSnapshot(rls(3, releasecommon.StatusDeployed, "1.0.2", vals), "upgrade", ""), false)
	g.Expect(h.Latest().Status).To(Equal("deployed"))
	g.Expect(h.Latest().HasBeenTested()).To(BeTrue())
}

func TestDesiredChanged(t *testing.T) {
	g := NewWithT(t)
	obj := &helmv2.HelmRelease{}
	obj.Generation = 2
	obj.Status.LastAttemptedRevision, obj.Status.LastAttemptedConfigDigest, obj.Status.LastAttemptedGeneration = "1.0.0", "sha256:a", 2
	d := Desired{Revision: "1.0.0", ConfigDigest: "sha256:a"}
	g.Expect(DesiredChanged(obj, d)).To(BeFalse())
	d.ConfigDigest = "sha256:b"
	g.Expect(DesiredChanged(obj, d)).To(BeTrue())
	d.ConfigDigest = "sha256:a"
	obj.Generation = 3
	g.Expect(DesiredChanged(obj, d)).To(BeTrue())
}
