package install

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// UI is the optional web UI component (`--components-extra ui`): the
// gotk image serving `gotk ui --in-cluster`.
const UI = "ui"

// Extras are components installed only when named: not controllers.
var Extras = []string{UI}

// uiDeployment is the UI's Deployment (and Service, ServiceAccount, roles).
const uiDeployment = "gotk-ui"

// Names of the UI's objects that depend on options.
const (
	uiImpersonate   = "gotk-ui-impersonate"
	uiArtifactProxy = "gotk-ui-artifact-proxy"
)

// uiOwned reports whether an object belongs to the UI component.
func uiOwned(obj *unstructured.Unstructured) bool {
	return obj.GetName() == uiDeployment || strings.HasPrefix(obj.GetName(), uiDeployment+"-")
}

// keepUI decides whether a UI object belongs to the install: only with
// the component; impersonation only with a trusted proxy; the artifact
// proxy's NetworkPolicy only with the API server's addresses.
func keepUI(obj *unstructured.Unstructured, o Options) bool {
	switch obj.GetName() {
	case uiImpersonate:
		return len(o.UITrustedProxies) > 0
	case uiArtifactProxy:
		return len(o.UIAPIServerCIDRs) > 0
	}
	return true
}

// validateUI checks the UI's addresses.
func validateUI(o Options) error {
	for flag, cidrs := range map[string][]string{"--ui-trusted-proxy-cidr": o.UITrustedProxies, "--ui-apiserver-cidr": o.UIAPIServerCIDRs} {
		for _, c := range cidrs {
			if _, _, err := net.ParseCIDR(c); err != nil {
				return fmt.Errorf("%s %q: %w", flag, c, err)
			}
		}
	}
	for _, raw := range o.UIPublicURLs {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--ui-public-url %q: want an http or https URL such as https://gotk.example.com", raw)
		}
	}
	return nil
}

// customiseUI switches the UI to proxy-headers mode with a trusted proxy,
// names its public URLs and fills the API server's addresses into the
// artifact policy.
func customiseUI(obj *unstructured.Unstructured, o Options) {
	switch {
	case obj.GetKind() == "Deployment" && obj.GetName() == uiDeployment && (len(o.UITrustedProxies) > 0 || len(o.UIPublicURLs) > 0):
		containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			m := c.(map[string]any)
			args, _ := m["args"].([]any)
			if len(o.UITrustedProxies) > 0 {
				for i, a := range args {
					if a == "--auth=read-only" {
						args[i] = "--auth=proxy-headers"
					}
				}
				args = append(args, "--trusted-proxy-cidr="+strings.Join(o.UITrustedProxies, ","))
			}
			for _, u := range o.UIPublicURLs {
				args = append(args, "--public-url="+u)
			}
			m["args"] = args
		}
		_ = unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers")
	case obj.GetKind() == "NetworkPolicy" && obj.GetName() == uiArtifactProxy:
		var from []any
		for _, c := range o.UIAPIServerCIDRs {
			from = append(from, map[string]any{"ipBlock": map[string]any{"cidr": c}})
		}
		rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "ingress")
		for _, r := range rules {
			r.(map[string]any)["from"] = from
		}
		_ = unstructured.SetNestedSlice(obj.Object, rules, "spec", "ingress")
	}
}

// APIServerCIDRs turns the API server's addresses (the endpoints of the
// kubernetes Service) into single-address CIDRs for the artifact policy.
func APIServerCIDRs(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		ip := net.ParseIP(a)
		switch {
		case ip == nil:
		case ip.To4() != nil:
			out = append(out, ip.String()+"/32")
		default:
			out = append(out, ip.String()+"/128")
		}
	}
	return out
}
