package ui

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

const cookieName = "gotk_session"

// login exchanges the token of the printed URL for an HttpOnly,
// SameSite=Strict session cookie, so the token leaves the address bar.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !equal(r.URL.Query().Get("token"), s.token) {
		http.Error(w, "invalid or missing token: open the URL `gotk ui` printed", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.sessID, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// authed lets a request through only with the session cookie; a POST
// also needs the CSRF token of the form and, when the browser sends one,
// an Origin equal to ours.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil || !equal(c.Value, s.sessID) {
			http.Error(w, "no session: open the URL `gotk ui` printed", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if !equal(r.PostFormValue("csrf"), s.csrf) || !sameOrigin(r) {
				http.Error(w, "forbidden: cross-site request", http.StatusForbidden)
				return
			}
		}
		h(w, r)
	}
}

func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
