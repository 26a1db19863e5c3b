package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/i18n"
	"github.com/scenicgate/scenicgate/admin/store"
)

// public marks the routes anyone may use without logging in.
const public store.Role = ""

// routeRoles is the least role each route of the staff UI needs. The test
// walks the routes the router really has, so a route added without an
// entry here fails it: whoever adds a route decides who may use it, and the
// test then checks that the router enforces that.
var routeRoles = map[string]store.Role{
	"GET /static/*filepath": public,
	"GET /healthz":          public,
	"GET /login":            public,
	"POST /login":           public,

	"POST /logout":                     store.Viewer,
	"GET /":                            store.Viewer,
	"GET /events":                      store.Viewer,
	"GET /tickets":                     store.Viewer,
	"GET /tickets/:id":                 store.Viewer,
	"GET /gates":                       store.Viewer,
	"GET /gates/rows":                  store.Viewer,
	"GET /conflicts":                   store.Viewer,
	"GET /audit":                       store.Viewer,
	"GET /export":                      store.Viewer,
	"GET /export/admissions.csv":       store.Viewer,
	"GET /settings":                    store.Viewer,
	"POST /tickets/:id/revoke":         store.Operator,
	"POST /tickets/:id/erase":          store.Operator,
	"POST /tickets/:id/presence/clear": store.Operator,
	"POST /gates/command":              store.Operator,
	"POST /conflicts/:id/resolve":      store.Operator,
	"POST /settings":                   store.Admin,
	"GET /users":                       store.Admin,
	"POST /users":                      store.Admin,
	"POST /users/:name/disable":        store.Admin,
	"POST /users/:name/enable":         store.Admin,
}

// concretePath fills a route's parameters with values that exist nowhere.
func concretePath(route string) string {
	r := strings.NewReplacer(":id", "1", ":name", "nobody", "*filepath", "app.css")
	return r.Replace(route)
}

// send makes a request as the script would (JSON answers) or as a page
// load would, with form as the body of a POST.
func (c *client) send(method, path string, form url.Values, script bool) answer {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if script {
		req.Header.Set("Accept", "application/json")
	}
	return c.do(req)
}

// message is the text of a JSON error answer.
func message(a answer) string {
	var v struct{ Message string }
	json.Unmarshal([]byte(a.body), &v)
	return v.Message
}

// TestEveryRouteIsProtected walks every route of admin's router and checks
// what its entry in routeRoles promises: without a session a page sends
// the browser to the login page and anything else answers 401; a role
// below the route's answers 403; a POST without the CSRF token answers 403;
// and the role the route needs, with the token, gets past all three.
func TestEveryRouteIsProtected(t *testing.T) {
	e := newEnv(t, envOptions{})
	roles := []store.Role{store.Viewer, store.Operator, store.Admin}
	staff := map[store.Role]*client{}
	for _, r := range roles {
		e.addUser("staff-"+string(r), r, "password-"+string(r))
		staff[r] = e.client()
		staff[r].mustLogin("staff-"+string(r), "password-"+string(r))
	}
	token := func(c *client) string { return c.csrf("/") }
	zh := i18n.Get("zh")
	forbidden, csrfRefused := zh.T("error.forbidden"), zh.T("error.csrf")

	served := map[string]bool{}
	var routes []gin.RouteInfo
	for _, r := range e.admin.Handler().(*gin.Engine).Routes() {
		key := r.Method + " " + r.Path
		served[key] = true
		if _, ok := routeRoles[key]; !ok {
			t.Errorf("route %s is not in routeRoles: add it with the least role it needs", key)
			continue
		}
		routes = append(routes, r)
	}
	for key := range routeRoles {
		if !served[key] {
			t.Errorf("routeRoles lists %s, which the router does not have", key)
		}
	}
	if len(routes) < 20 {
		t.Fatalf("only %d routes found; the walk no longer sees the router", len(routes))
	}

	anon := e.client()
	denied := 0
	for _, r := range routes {
		key, path, need := r.Method+" "+r.Path, concretePath(r.Path), routeRoles[r.Method+" "+r.Path]
		post := r.Method == http.MethodPost
		t.Run(key, func(t *testing.T) {
			if need == public {
				a := anon.send(r.Method, path, nil, false)
				if post && (a.status != http.StatusForbidden || !strings.Contains(a.body, csrfRefused)) {
					t.Errorf("without the form's CSRF token: %s; want 403", fmtAnswer(a))
				}
				if !post && a.status != http.StatusOK {
					t.Errorf("without a session: %s; want 200", fmtAnswer(a))
				}
				return
			}

			// No session.
			if a := anon.send(r.Method, path, nil, true); a.status != http.StatusUnauthorized {
				t.Errorf("script without a session: %s; want 401", fmtAnswer(a))
			}
			a := anon.send(r.Method, path, nil, false)
			switch {
			case !post && r.Path != "/events":
				if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/login?next=") {
					t.Errorf("page without a session: %d → %q; want 303 to the login page", a.status, a.location)
				}
			case a.status != http.StatusUnauthorized:
				t.Errorf("without a session: %s; want 401", fmtAnswer(a))
			}

			// A role below the route's, with a valid token.
			for _, below := range roles {
				if below.Allows(need) {
					continue
				}
				c := staff[below]
				a := c.send(r.Method, path, url.Values{"csrf": {token(c)}}, true)
				if a.status != http.StatusForbidden || message(a) != forbidden {
					t.Errorf("as %s: %s; want 403 %q", below, fmtAnswer(a), forbidden)
				}
				denied++
			}

			// A POST without the token, by someone allowed to make it.
			if post {
				c := staff[store.Admin]
				for _, form := range []url.Values{nil, {"csrf": {"not-the-token"}}} {
					if a := c.send(r.Method, path, form, true); a.status != http.StatusForbidden || message(a) != csrfRefused {
						t.Errorf("as admin with CSRF field %q: %s; want 403 %q", form.Get("csrf"), fmtAnswer(a), csrfRefused)
					}
				}
			}

			// The role the route needs gets past the checks. The logout
			// uses a session of its own, so the others stay logged in.
			c := staff[need]
			if key == "POST /logout" {
				c = e.client()
				c.mustLogin("staff-viewer", "password-viewer")
			}
			if r.Path == "/events" {
				c.openEvents(t) // fails unless it answers 200 with a stream
				return
			}
			var form url.Values
			if post {
				form = url.Values{"csrf": {token(c)}}
			}
			a = c.send(r.Method, path, form, false)
			if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden || strings.HasPrefix(a.location, "/login?") {
				t.Errorf("as %s with the token: %s → %q; want the route's own answer", need, fmtAnswer(a), a.location)
			}
		})
	}
	rows, _, err := e.admin.Store().Audit(context.Background(), store.AuditFilter{Action: "denied"})
	if err != nil || len(rows) != denied {
		t.Errorf("audit has %d denied rows (%v); want one per refusal by role, %d", len(rows), err, denied)
	}
}
