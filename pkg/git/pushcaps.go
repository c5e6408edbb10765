package git

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// ReceivesPushOptions reports whether u's receive-pack advertises the
// push-options capability (receive.advertisePushOptions). go-git sends a
// push's options only to a remote that does and drops them silently
// otherwise, so a caller with options asks first to say they were not
// sent. It costs one ref advertisement (a GET of info/refs over HTTP).
func ReceivesPushOptions(ctx context.Context, u *URL, auth *Auth) (bool, error) {
	am, err := auth.transportAuth(u)
	if err != nil {
		return false, err
	}
	ep, err := transport.NewEndpoint(u.String())
	if err != nil {
		return false, err
	}
	ep.CaBundle = auth.caBundle()
	ep.Proxy = auth.proxyOptions()
	c, err := client.NewClient(ep)
	if err != nil {
		return false, err
	}
	s, err := c.NewReceivePackSession(ep, am)
	if err != nil {
		return false, classify(u, "open receive-pack", err)
	}
	defer s.Close()
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil {
		return false, classify(u, "list references for push", err)
	}
	return ar.Capabilities.Supports(capability.PushOptions), nil
}
