// Package cloudauth turns a cloud provider name (aws, azure, gcp) into
// credentials, as Flux's `provider` fields do: the controller's own
// environment (static keys, the metadata server, the SDKs' default
// chains) or, with object-level workload identity, a Kubernetes
// ServiceAccount whose token the controller mints and exchanges at the
// cloud's token service (AWS STS web identity, Microsoft Entra client
// assertion, Google STS token exchange with service account
// impersonation). Registry logins (ECR, ACR, Artifact Registry), managed
// cluster access (EKS, AKS, GKE) and Azure DevOps tokens are built on it,
// and so is SOPS decryption with cloud KMS. Tokens and logins are cached
// until shortly before they expire (TokenCache).
//
// Endpoints follow the SDKs' own overrides (AWS_ENDPOINT_URL_<SERVICE>,
// AZURE_AUTHORITY_HOST, GCE_METADATA_HOST); Options.HTTPClient carries
// every token request, e.g. to trust a private CA.
package cloudauth
