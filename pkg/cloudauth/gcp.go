package cloudauth

import (
	"context"

	"golang.org/x/oauth2"
)

// oauthContext makes golang.org/x/oauth2 send token requests through
// o.HTTPClient.
func oauthContext(ctx context.Context, o Options) context.Context {
	if o.HTTPClient == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
}
