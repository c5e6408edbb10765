package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// bitbucket sets a build status on Bitbucket Cloud (api.bitbucket.org for
// bitbucket.org; the address's own host otherwise) with basic auth from the
// Secret: `token` as `username:app-password`, or `username` and `password`.
type bitbucket struct {
	c                         *client
	api, owner, name, address string
	auth, uid                 string
}

func newBitbucket(cfg Config, c *client) (Notifier, error) {
	r, err := parseRepo(cfg.Type, cfg.Address, 2)
	if err != nil {
		return nil, err
	}
	user, pass := cfg.BasicUser, cfg.BasicPassword
	if cfg.Token != "" {
		var ok bool
		if user, pass, ok = strings.Cut(cfg.Token, ":"); !ok {
			return nil, errors.New("bitbucket provider: the Secret's `token` must be `username:app-password`")
		}
	}
	if user == "" || pass == "" {
		return nil, errors.New("bitbucket provider: credentials are required (`token` as username:app-password)")
	}
	api := r.base()
	if strings.EqualFold(r.host, "bitbucket.org") {
		api = "https://api.bitbucket.org"
	}
	owner, name := r.ownerName()
	return &bitbucket{c: c, api: api + "/2.0", owner: owner, name: name, address: cfg.Address,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), uid: cfg.ProviderUID}, nil
}

func (b *bitbucket) Post(ctx context.Context, ev *eventv1.Event) error {
	sha, err := commitSHA(ev)
	if err != nil {
		return err
	}
	state := "SUCCESSFUL"
	if isError(ev) {
		state = "FAILED"
	}
	id := commitStatusID(ctx, ev, b.uid)
	// Bitbucket keys are at most 40 characters.
	sum := sha256.Sum256([]byte(id))
	payload := map[string]string{"state": state, "key": hex.EncodeToString(sum[:])[:40], "name": truncateStr(id, 255),
		"description": description(ev), "url": b.address}
	u := b.api + "/repositories/" + b.owner + "/" + b.name + "/commit/" + sha + "/statuses/build"
	return b.c.postJSON(ctx, u, payload, map[string]string{"Authorization": b.auth})
}
