package v1

import (
	"github.com/fluxcd/pkg/apis/meta"
)

// GitSpec holds the Git settings of an ImageUpdateAutomation: what to
// check out, how to commit and where to push.
type GitSpec struct {
	// Checkout is the reference to clone and change. When absent, the
	// reference of the GitRepository (or its default) is used.
	// +optional
	Checkout *GitCheckoutSpec `json:"checkout,omitempty"`

	// Commit describes the commits made by the automation.
	// +required
	Commit CommitSpec `json:"commit"`

	// Push says where commits go. When absent, they are pushed back to the
	// checked out branch.
	// +optional
	Push *PushSpec `json:"push,omitempty"`
}

// HasRefspec reports whether push.refspec is set.
func (in GitSpec) HasRefspec() bool {
	return in.Push != nil && in.Push.Refspec != ""
}

// GitCheckoutSpec selects what is cloned before updating.
type GitCheckoutSpec struct {
	// Reference is the branch, tag, semver range, ref name or commit to clone.
	// +required
	Reference GitRepositoryRef `json:"ref"`
}

// GitRepositoryRef selects a Git reference, with the same fields and
// precedence as a GitRepository's spec.ref: commit, then name, then semver,
// then tag, then branch.
type GitRepositoryRef struct {
	// Branch to check out. Defaults to the GitRepository's branch.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to check out.
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer is a range; the highest matching tag is checked out.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Name is a full reference name, e.g. `refs/heads/main` or
	// `refs/pull/1/head`.
	// +optional
	Name string `json:"name,omitempty"`

	// Commit is a commit SHA to check out; with a branch, the commit must be
	// on that branch.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// CommitSpec describes the commits made by the automation.
type CommitSpec struct {
	// Author is the author (and committer) of the commits.
	// +required
	Author CommitUser `json:"author"`

	// SigningKey, when set, signs commits with an OpenPGP or SSH key.
	// +optional
	SigningKey *SigningKey `json:"signingKey,omitempty"`

	// MessageTemplate is a Go text/template for the commit message; it sees
	// the automation object and the changes made (`.Changed`).
	// +optional
	MessageTemplate string `json:"messageTemplate,omitempty"`

	// MessageTemplateValues are extra values given to the message template
	// as `.Values`.
	// +optional
	MessageTemplateValues map[string]string `json:"messageTemplateValues,omitempty"`
}

// CommitUser is a Git identity.
type CommitUser struct {
	// Name of the author.
	// +optional
	Name string `json:"name,omitempty"`

	// Email of the author.
	// +required
	Email string `json:"email"`
}

// SigningKeyType is the kind of key used to sign commits.
// +kubebuilder:validation:Enum=gpg;ssh
type SigningKeyType string

const (
	// SigningKeyTypeGPG signs with the OpenPGP key in the Secret's `git.asc`
	// key (passphrase in `passphrase`).
	SigningKeyTypeGPG SigningKeyType = "gpg"
	// SigningKeyTypeSSH signs with the SSH private key in the Secret's
	// `identity` key (passphrase in `password`).
	SigningKeyTypeSSH SigningKeyType = "ssh"
)

// SigningKey points at the Secret holding the commit signing key.
type SigningKey struct {
	// SecretRef names a Secret in the automation's namespace holding the key.
	// +required
	SecretRef meta.LocalObjectReference `json:"secretRef"`

	// Type is the kind of key; empty means gpg.
	// +optional
	Type SigningKeyType `json:"type,omitempty"`
}

// GetType returns Type, or SigningKeyTypeGPG when it is empty.
func (in *SigningKey) GetType() SigningKeyType {
	if in.Type == "" {
		return SigningKeyTypeGPG
	}
	return in.Type
}

// PushSpec says where and how commits are pushed.
type PushSpec struct {
	// Branch to push to. It is created from the checked out reference when
	// it does not exist.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Refspec is an extra Git refspec to push, e.g.
	// `refs/heads/main:refs/heads/auto`. Forcing (`+`) and deleting (`:dst`)
	// refspecs are refused.
	// +kubebuilder:validation:Pattern="^$|^[^+:]"
	// +optional
	Refspec string `json:"refspec,omitempty"`

	// Options are Git push options sent to the server.
	// +optional
	Options map[string]string `json:"options,omitempty"`
}
