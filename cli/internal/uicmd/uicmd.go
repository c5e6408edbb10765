// Package uicmd is the web UI's command: `gotk ui`, and the whole of the
// gotk-ui binary, which links only the UI so its server stays small (the
// in-cluster Deployment runs it; `gotk ui` execs it when it is beside
// gotk).
package uicmd

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"gotk.dev/cli/internal/kubeflags"
	"gotk.dev/cli/internal/ui"
)

// uiFlags are `gotk ui`'s own flags.
type uiFlags struct {
	addr, auth, systemNamespace, secretFile, sessionFile string
	inCluster                                            bool
	cidrs, publicURLs                                    []string
}

// New returns the ui command. It reads the cluster flags from k (their
// caller registers them) and prints the URL to out. With execServer, the
// command replaces its process with the gotk-ui binary when one is beside
// the running executable, passing the same flags on.
func New(k *kubeflags.Flags, out io.Writer, execServer bool) *cobra.Command {
	f := uiFlags{addr: "127.0.0.1:9080", auth: ui.AuthLocal}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the web UI on loopback with your kubeconfig identity",
		Long: "Serve the web UI on loopback: overview, lists and object pages of every Flux kind,\n" +
			"live, with reconcile/suspend/resume where your identity may patch. Open the printed\n" +
			"URL: its token opens a session. Without cluster-wide list access, the UI shows --namespace.\n\n" +
			"In a cluster (`gotk install --components-extra ui`) it runs with --in-cluster and either\n" +
			"--auth=proxy-headers: behind a reverse proxy that authenticates users (oauth2-proxy),\n" +
			"impersonating the X-Forwarded-User/-Email and X-Forwarded-Groups it sends, accepted only\n" +
			"from --trusted-proxy-cidr or with the secret of --trusted-proxy-secret-file in the\n" +
			ui.HeaderProxySecret + " header; or --auth=read-only: as its own ServiceAccount, no actions.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if execServer {
				if err := execBeside(cmd); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o, err := f.options()
			if err != nil {
				return err
			}
			if f.inCluster {
				o.Config, err = rest.InClusterConfig()
			} else {
				o.Config, err = k.RESTConfig()
			}
			if err != nil {
				return err
			}
			o.Config.Timeout = 0 // watches stay open
			o.Namespace = k.Namespace
			s, err := ui.New(ctx, o)
			if err != nil {
				return err
			}
			return s.Serve(ctx, f.addr, func(url string) {
				fmt.Fprintf(out, "✔ gotk UI: %s\n  (Ctrl-C stops)\n", url)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "address", f.addr, "address to listen on (port 0 picks a free one); loopback only with --auth=local")
	fl.StringVar(&f.auth, "auth", f.auth, "who requests act as: local (your kubeconfig identity, token URL), proxy-headers (impersonate the trusted proxy's user) or read-only (the UI's own identity, no actions)")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "talk to the API server with the Pod's ServiceAccount")
	fl.StringSliceVar(&f.cidrs, "trusted-proxy-cidr", nil, "networks proxy headers are accepted from (--auth=proxy-headers)")
	fl.StringVar(&f.secretFile, "trusted-proxy-secret-file", "", "file with a secret the proxy sends in the "+ui.HeaderProxySecret+" header (--auth=proxy-headers)")
	fl.StringVar(&f.systemNamespace, "system-namespace", "", "namespace of the toolkit's controllers (default flux-system)")
	fl.StringSliceVar(&f.publicURLs, "public-url", nil, "URL browsers open the UI at, when a proxy in front of it rewrites the Host header (actions check the browser's Origin against it); repeatable")
	fl.StringVar(&f.sessionFile, "session-file", "", "file keeping the session secret across restarts (created when missing; default: a new one each start)")
	return cmd
}

// options turns the flags into ui.Options (without the REST config).
func (f uiFlags) options() (ui.Options, error) {
	o := ui.Options{Auth: f.auth, SystemNamespace: f.systemNamespace}
	for _, c := range f.cidrs {
		_, n, err := net.ParseCIDR(strings.TrimSpace(c))
		if err != nil {
			return o, fmt.Errorf("--trusted-proxy-cidr %q: %w", c, err)
		}
		o.TrustedProxies = append(o.TrustedProxies, n)
	}
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return o, fmt.Errorf("--trusted-proxy-secret-file: %w", err)
		}
		if o.ProxySecret = strings.TrimSpace(string(b)); len(o.ProxySecret) < 16 {
			return o, fmt.Errorf("--trusted-proxy-secret-file %s: the secret is shorter than 16 characters", f.secretFile)
		}
	}
	for _, raw := range f.publicURLs {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--public-url %q: want an http or https URL such as https://gotk.example.com", raw)
		}
		o.PublicHosts = append(o.PublicHosts, u.Host)
	}
	if f.sessionFile != "" {
		var err error
		if o.SessionSecret, err = ui.LoadSessionSecret(f.sessionFile); err != nil {
			return o, fmt.Errorf("--session-file: %w", err)
		}
	}
	return o, nil
}
