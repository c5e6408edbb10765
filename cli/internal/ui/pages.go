package ui

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
)

//go:embed web
var web embed.FS

var funcs = template.FuncMap{
	"age": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return time.Since(t).Round(time.Second).String()
	},
	"lower": strings.ToLower,
}

// pages holds one template per page, each with the shared layout.
var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, p := range []string{"overview", "list", "object", "drift", "graph"} {
		m[p] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(web, "web/templates/layout.html", "web/templates/"+p+".html"))
	}
	return m
}()

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	static, _ := fs.Sub(web, "web/static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("GET /{$}", s.authed(s.overview))
	s.mux.HandleFunc("GET /kinds/{kind}", s.authed(s.kindList))
	s.mux.HandleFunc("GET /objects/{kind}/{ns}/{name}", s.authed(s.object))
	s.mux.HandleFunc("GET /objects/kustomization/{ns}/{name}/drift", s.authed(s.drift))
	s.mux.HandleFunc("POST /objects/{kind}/{ns}/{name}/{action}", s.authed(s.action))
	s.mux.HandleFunc("GET /graph", s.authed(s.graph))
	s.mux.HandleFunc("GET /live", s.authed(s.stream))
}

// page is what the layout needs besides the page's own data.
type page struct {
	Title string
	Kinds []kindLink
	Seq   uint64
	CSRF  string
	Data  any
}

type kindLink struct{ Slug, Kind string }

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	p := page{Title: title, Seq: s.live.current(), CSRF: s.csrfFor(s.viewerOf(r.Context())), Data: data}
	for _, k := range s.kinds {
		p.Kinds = append(p.Kinds, kindLink{slug(k), k.GVK.Kind})
	}
	// Rendered whole before sending, so a template error is a 500, not half a page.
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, p); err != nil {
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) kind(w http.ResponseWriter, r *http.Request) (catalog.Kind, bool) {
	name := r.PathValue("kind")
	for _, k := range s.kinds {
		if slug(k) == name {
			return k, true
		}
	}
	http.Error(w, fmt.Sprintf("unknown or unreadable kind %q", name), http.StatusNotFound)
	return catalog.Kind{}, false
}

// overview counts objects by status per kind and shows the latest warnings.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	type count struct {
		Slug, Kind string
		Total      int
		By         map[string]int
	}
	var counts []count
	for _, k := range s.kinds {
		objs, err := s.list(r.Context(), k, "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c := count{Slug: slug(k), Kind: k.GVK.Kind, Total: len(objs), By: map[string]int{}}
		for _, o := range objs {
			st, _ := statusOf(o)
			c.By[st]++
		}
		counts = append(counts, c)
	}
	s.render(w, r, "overview", "Overview", map[string]any{
		"Counts": counts, "Controllers": s.controllers(r.Context()), "Statuses": statuses, "Warnings": s.warnings(r.Context(), 20)})
}

// warnings are the newest cached Warning events about Flux objects.
func (s *Server) warnings(ctx context.Context, n int) []corev1.Event {
	if !s.events {
		return nil
	}
	var l corev1.EventList
	if err := s.reader.List(ctx, &l, client.InNamespace(s.scope)); err != nil {
		return nil
	}
	evs := slices.DeleteFunc(l.Items, func(e corev1.Event) bool {
		return !strings.Contains(e.InvolvedObject.APIVersion, "fluxcd.io") || !s.visible(ctx, "list", "", "events", e.Namespace)
	})
	slices.SortFunc(evs, func(a, b corev1.Event) int { return eventTime(b).Compare(eventTime(a)) })
	return evs[:min(n, len(evs))]
}

func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// kindList lists one kind: filtered, sorted and paged on the server.
func (s *Server) kindList(w http.ResponseWriter, r *http.Request) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	q := query{Namespace: v.Get("namespace"), Status: v.Get("status"), Name: v.Get("name"), Sort: v.Get("sort")}
	q.Page, _ = strconv.Atoi(v.Get("page"))
	var rows []row
	total := 0
	if s.scope == "" || q.Namespace == "" || q.Namespace == s.scope {
		objs, err := s.list(r.Context(), k, q.Namespace)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		total, rows = len(objs), q.toRows(k, objs)
	}
	shown, pages := q.apply(rows)
	fillRevisions(k, shown)
	q.Page = min(max(q.Page, 1), pages)
	link := func(change func(url.Values)) string {
		c := url.Values{}
		for key, val := range map[string]string{"namespace": q.Namespace, "status": q.Status, "name": q.Name, "sort": q.Sort} {
			if val != "" {
				c.Set(key, val)
			}
		}
		change(c)
		return "/kinds/" + slug(k) + "?" + c.Encode()
	}
	sortLink := func(by string) string {
		return link(func(c url.Values) {
			if q.Sort == by {
				by = "-" + by
			}
			c.Set("sort", by)
		})
	}
	data := map[string]any{"Kind": k.GVK.Kind, "Slug": slug(k), "Query": q, "Rows": shown, "Total": total,
		"Pages": pages, "Statuses": statuses,
		"SortName": sortLink("name"), "SortStatus": sortLink("status"), "SortAge": sortLink("age")}
	if q.Page > 1 {
		data["Prev"] = link(func(c url.Values) { c.Set("page", strconv.Itoa(q.Page-1)) })
	}
	if q.Page < pages {
		data["Next"] = link(func(c url.Values) { c.Set("page", strconv.Itoa(q.Page+1)) })
	}
	s.render(w, r, "list", k.GVK.Kind+" objects", data)
}
