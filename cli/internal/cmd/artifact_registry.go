package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"golang.org/x/net/http/httpproxy"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/oci"
)

// providerGeneric logs in with --creds (or anonymously), as Flux's
// OCIRepository provider "generic".
const providerGeneric = "generic"

// registryFlags are the registry flags every artifact command shares.
type registryFlags struct {
	creds    string
	insecure bool
	provider string
}

func (r *registryFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.creds, "creds", "", "registry credentials as user:password")
	cmd.Flags().BoolVar(&r.insecure, "insecure-registry", false, "reach the registry over plain HTTP")
	cmd.Flags().StringVar(&r.provider, "provider", providerGeneric,
		"log in to the registry with a cloud's credentials from the environment: generic, aws (ECR), azure (ACR) or gcp (Artifact Registry)")
}

// options returns the registry options for host: --creds for the generic
// provider, else a login to the cloud's registry with the environment's
// credentials (pkg/cloudauth, as source-controller's OCIRepository
// provider). HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.
func (r *registryFlags) options(ctx context.Context, host string) (oci.Options, error) {
	o := oci.Options{Insecure: r.insecure, UserAgent: "gotk"}
	scheme := "https"
	if r.insecure {
		scheme = "http"
	}
	// Read the environment on every call: net/http caches it per process.
	proxy, err := httpproxy.FromEnvironment().ProxyFunc()(&url.URL{Scheme: scheme, Host: host})
	if err != nil {
		return o, fmt.Errorf("proxy from the environment: %w", err)
	}
	o.Proxy = proxy
	switch r.provider {
	case providerGeneric, "":
		if r.creds == "" {
			return o, nil
		}
		user, pass, ok := strings.Cut(r.creds, ":")
		if !ok || user == "" {
			return o, errors.New("--creds wants user:password")
		}
		o.Auth = &authn.Basic{Username: user, Password: pass}
		return o, nil
	case cloudauth.ProviderAWS, cloudauth.ProviderAzure, cloudauth.ProviderGCP:
	default:
		return o, fmt.Errorf("--provider %q is not supported: use generic, aws, azure or gcp", r.provider)
	}
	if r.creds != "" {
		return o, fmt.Errorf("--creds works with --provider generic only, not %s", r.provider)
	}
	auth, err := cloudauth.RegistryAuthenticator(ctx, r.provider, host, cloudauth.Options{})
	if err != nil {
		return o, fmt.Errorf("--provider %s login to %s: %w", r.provider, host, err)
	}
	o.Auth = auth
	return o, nil
}

// ref parses `oci://host/repo:tag` (Flux's artifact URL form).
func (r *registryFlags) ref(url string) (name.Reference, error) {
	rest, ok := strings.CutPrefix(url, "oci://")
	if !ok {
		return nil, fmt.Errorf("artifact URL %q must start with oci://", url)
	}
	var opts []name.Option
	if r.insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(rest, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid artifact URL %q: %w", url, err)
	}
	return ref, nil
}
