package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// page is one parsed page template (the layout plus the page's content).
type page struct {
	t *template.Template
}

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{
	"login", "overview", "users", "user", "groups", "group", "apps", "app",
	"events", "audit", "dlq", "deadletter", "confirm", "grants", "plugins", "okta", "error",
}

var funcs = template.FuncMap{
	// pe escapes a path segment (ids in links).
	"pe": url.PathEscape,
	// when formats a time in UTC, "—" for zero.
	"when": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	// ago is how long before now t was, roughly.
	"ago": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return "never"
		}
		return roughly(time.Since(t))
	},
	// ms formats a duration in nanoseconds (or time.Duration) as ms.
	"ms": func(d time.Duration) string { return fmtMs(float64(d) / 1e6) },
	// msf formats float milliseconds, "—" for nil.
	"msf": func(v *float64) string {
		if v == nil {
			return "—"
		}
		return fmtMs(*v)
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"join": strings.Join,
	// dict builds a map for passing several values to a sub-template.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				m[k] = kv[i+1]
			}
		}
		return m
	},
	"add": func(a, b int) int { return a + b },
}

func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 3, 64) + " ms"
}

// roughly formats an elapsed time for people.
func roughly(d time.Duration) string {
	switch {
	case d < 0:
		return "in " + strings.TrimSuffix(roughly(-d), " ago")
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func parsePages() (map[string]*page, error) {
	out := map[string]*page{}
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets,
			"templates/layout.html", "templates/parts.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		out[n] = &page{t: t}
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title    string
	Section  string // nav entry to mark current
	Signed   bool
	CSRF     string
	Flash    *flash
	Data     any
	Now      time.Time
	NavItems []navItem
}

type navItem struct {
	Section, Href, Label string
}

var nav = []navItem{
	{"overview", "/ui/", "Overview"},
	{"users", "/ui/users", "Users"},
	{"groups", "/ui/groups", "Groups"},
	{"apps", "/ui/apps", "Apps"},
	{"events", "/ui/events", "Events"},
	{"audit", "/ui/audit", "Audit"},
	{"dlq", "/ui/dlq", "Dead letters"},
	{"grants", "/ui/grants", "Grants"},
	{"plugins", "/ui/plugins", "Plugins"},
	{"okta", "/ui/okta", "Okta"},
}

// titled is implemented by page data that names the page.
type titled interface {
	title() (title, section string)
}

// render draws page name with data for session s (nil: signed out).
func (c *Console) render(ctx *fasthttp.RequestCtx, s *session, name string, data any) {
	p := c.pages[name]
	v := view{Data: data, Now: time.Now().UTC(), NavItems: nav, Title: "hookgate"}
	if t, ok := data.(titled); ok {
		v.Title, v.Section = t.title()
	}
	if name == "login" {
		v.Title = "Sign in"
	}
	if s != nil {
		v.Signed = true
		v.CSRF = s.csrf
		v.Flash = s.takeFlash()
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		c.plainError(ctx, fasthttp.StatusInternalServerError, "console: cannot render this page: "+err.Error())
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBody(buf.Bytes())
}

// errorData is the error page.
type errorData struct {
	Status int
	Msg    string
}

func (e errorData) title() (string, string) { return "Error", "" }

// fail draws the error page.
func (c *Console) fail(ctx *fasthttp.RequestCtx, s *session, status int, msg string) {
	ctx.SetStatusCode(status)
	c.render(ctx, s, "error", errorData{Status: status, Msg: msg})
}

// failAPI draws the error page for a failed API call.
func (c *Console) failAPI(ctx *fasthttp.RequestCtx, s *session, err error) {
	if ae, ok := err.(*apiError); ok {
		c.fail(ctx, s, ae.Status, ae.Msg)
		return
	}
	c.fail(ctx, s, fasthttp.StatusInternalServerError, err.Error())
}

// pageURL builds a console URL with query arguments (empty ones left out).
func pageURL(p string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}
