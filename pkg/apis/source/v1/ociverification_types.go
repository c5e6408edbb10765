package v1

import (
	"github.com/fluxcd/pkg/apis/meta"
)

// Signature verification providers for OCI artifacts.
const (
	// CosignVerificationProvider verifies Sigstore cosign signatures.
	CosignVerificationProvider string = "cosign"
	// NotationVerificationProvider verifies Notary Project signatures.
	NotationVerificationProvider string = "notation"
)

// OCIVerification configures signature verification of an OCI artifact,
// as used by HelmChart.
type OCIVerification struct {
	// Provider is the signing technology to verify against.
	// +kubebuilder:validation:Enum=cosign;notation
	// +kubebuilder:default:=cosign
	// +required
	Provider string `json:"provider"`

	// SecretRef names a Secret with the trusted public keys or
	// certificates. Without it, cosign verifies keyless signatures.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// MatchOIDCIdentity restricts keyless cosign signatures to the
	// identities listed; any match is enough.
	// +optional
	MatchOIDCIdentity []OIDCIdentityMatch `json:"matchOIDCIdentity,omitempty"`
}

// OCIRepositoryVerification configures signature verification of the
// artifact pulled by an OCIRepository.
type OCIRepositoryVerification struct {
	OCIVerification `json:",inline"`

	// TrustedRootSecretRef names a Secret with a Sigstore trusted_root.json
	// key, for keyless verification against self-hosted Sigstore services.
	// +optional
	TrustedRootSecretRef *meta.LocalObjectReference `json:"trustedRootSecretRef,omitempty"`
}

// OIDCIdentityMatch is a pair of regular expressions matched against the
// issuer and subject of a keyless signing certificate.
type OIDCIdentityMatch struct {
	// Issuer is a Go regular expression for the OIDC issuer.
	// +required
	Issuer string `json:"issuer"`

	// Subject is a Go regular expression for the identity subject.
	// +required
	Subject string `json:"subject"`
}
