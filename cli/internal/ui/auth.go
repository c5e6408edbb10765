package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
)

const cookieName = "gotk_session"

// login exchanges the token of the printed URL for an HttpOnly,
// SameSite=Strict session cookie, so the token leaves the address bar.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opts.Auth != "" && s.opts.Auth != AuthLocal {
		http.NotFound(w, r) // no token sessions in the cluster
		return
	}
	if !equal(r.URL.Query().Get("token"), s.token) {
		http.Error(w, "invalid or missing token: open the URL `gotk ui` printed", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.sessID, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// authed decides who a request acts as and lets it through: locally only
// with the session cookie; behind a proxy only from the trusted source,
// as the user it names; read-only for GETs only. A POST also needs the
// viewer's CSRF token in the form and, when the browser sends one, an
// Origin equal to ours.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.self
		switch s.opts.Auth {
		case AuthProxyHeaders:
			if !s.trustedProxy(r) {
				http.Error(w, "forbidden: this request did not come through the trusted proxy", http.StatusForbidden)
				return
			}
			var err error
			if v, err = s.impersonated(r); err != nil {
				code := http.StatusUnauthorized
				if errors.Is(err, errSystemIdentity) {
					code = http.StatusForbidden
				}
				http.Error(w, err.Error(), code)
				return
			}
		case AuthReadOnly:
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				http.Error(w, "forbidden: this UI is read-only", http.StatusForbidden)
				return
			}
		default:
			c, err := r.Cookie(cookieName)
			if err != nil || !equal(c.Value, s.sessID) {
				http.Error(w, "no session: open the URL `gotk ui` printed", http.StatusUnauthorized)
				return
			}
		}
		if r.Method == http.MethodPost {
			if !equal(r.PostFormValue("csrf"), s.csrfFor(v)) || !sameOrigin(r, s.opts.PublicHosts) {
				http.Error(w, "forbidden: cross-site request", http.StatusForbidden)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	}
}

// sameOrigin accepts a request whose browser sent no Origin, or one
// naming the request's Host or one of the configured public hosts (a
// proxy that rewrites Host leaves the browser's Origin on the public one).
func sameOrigin(r *http.Request, publicHosts []string) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Host == r.Host || slices.Contains(publicHosts, u.Host)
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
