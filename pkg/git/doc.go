// Package git is gotk's Git client: URL parsing, credentials from Secret
// data (basic auth, bearer token, SSH identity with known_hosts, CA
// bundle, proxy), remote ref listing, reference resolution with Flux's
// precedence (commit > name > semver > tag > branch), clone and push.
//
// It wraps go-git so callers never deal with transports: every operation
// takes a parsed URL and an *Auth, honours the context's deadline, and
// returns errors classified as *AuthError or *RefNotFoundError where that
// matters to a status condition. Error messages never contain credentials.
package git
