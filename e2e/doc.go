// Package e2e runs the seed guide's GitOps flows on real processes: the
// five controller binaries and the gotk CLI, wired only by flags, against
// the local control plane, a Git server, an OCI registry, a Helm
// repository and a webhook sink. Each controller authenticates as its own
// ServiceAccount, so the RBAC that `gotk install` applies is exercised.
package e2e
