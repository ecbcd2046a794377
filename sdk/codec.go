package sdk

import (
	"encoding/base64"
	"errors"
	"time"
	"unicode/utf8"
)

// requestBox allocates a Request and its AccessLength together (each guest
// allocation costs many guest function calls and loop iterations). The
// flat decoder (abi.DecodeFlatRequest) does the same.
type requestBox struct {
	req          Request
	accessLength int64
}

func decodeRequest(b []byte) (*Request, error) {
	r := newReader(b)
	box := &requestBox{}
	req := &box.req
	r.object(func(k string) {
		switch {
		case eq(k, "application"):
			r.object(func(k string) {
				switch {
				case eq(k, "app_id"):
					req.Application.AppID = r.str()
				case eq(k, "instance_id"):
					req.Application.InstanceID = r.str()
				case eq(k, "user_friendly_label"):
					req.Application.UserFriendlyLabel = r.str()
				default:
					r.skip()
				}
			})
		case eq(k, "permissions"):
			req.Permissions = []Permission{}
			if !r.array(func() {
				var p Permission
				r.object(func(k string) {
					switch {
					case eq(k, "label"):
						p.Label = r.str()
					case eq(k, "value"):
						p.Value = r.str()
					case eq(k, "type"):
						p.Type = r.str()
					case eq(k, "source"):
						p.Source = r.str()
					default:
						r.skip()
					}
				})
				req.Permissions = append(req.Permissions, p)
			}) {
				req.Permissions = nil
			}
		case eq(k, "target_user"):
			r.object(func(k string) {
				switch {
				case eq(k, "email"):
					req.TargetUser.Email = r.str()
				case eq(k, "given_name"):
					req.TargetUser.GivenName = r.str()
				case eq(k, "family_name"):
					req.TargetUser.FamilyName = r.str()
				default:
					r.skip()
				}
			})
		case eq(k, "access_length"):
			if v, ok := r.int64v(); ok {
				box.accessLength = v
				req.AccessLength = &box.accessLength
			}
		case eq(k, "request_comment"):
			req.RequestComment = r.str()
		case eq(k, "request_task_url"):
			req.RequestTaskURL = r.str()
		case eq(k, "custom_fields"):
			if r.null() {
				break
			}
			req.CustomFields = map[string]any{}
			r.object(func(k string) { req.CustomFields[k] = r.any() })
		default:
			r.skip()
		}
	})
	return req, r.end()
}

func (r *jreader) oktaActor() OktaActor {
	var a OktaActor
	r.object(func(k string) {
		switch {
		case eq(k, "id"):
			a.ID = r.str()
		case eq(k, "type"):
			a.Type = r.str()
		case eq(k, "alternateId"):
			a.AlternateID = r.str()
		case eq(k, "displayName"):
			a.DisplayName = r.str()
		case eq(k, "detailEntry"):
			if m, ok := r.any().(map[string]any); ok {
				a.DetailEntry = m
			}
		default:
			r.skip()
		}
	})
	return a
}

func decodeOktaEvent(b []byte) (*OktaEvent, error) {
	r := newReader(b)
	ev := &OktaEvent{Raw: append([]byte(nil), b...)}
	r.object(func(k string) {
		switch {
		case eq(k, "uuid"):
			ev.UUID = r.str()
		case eq(k, "published"):
			if s := r.str(); s != "" {
				t, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					r.fail("published: " + err.Error())
				}
				ev.Published = t
			}
		case eq(k, "eventType"):
			ev.EventType = r.str()
		case eq(k, "displayMessage"):
			ev.DisplayMessage = r.str()
		case eq(k, "severity"):
			ev.Severity = r.str()
		case eq(k, "outcome"):
			if r.null() {
				break
			}
			ev.Outcome = &OktaOutcome{}
			r.object(func(k string) {
				switch {
				case eq(k, "result"):
					ev.Outcome.Result = r.str()
				case eq(k, "reason"):
					ev.Outcome.Reason = r.str()
				default:
					r.skip()
				}
			})
		case eq(k, "actor"):
			ev.Actor = r.oktaActor()
		case eq(k, "target"):
			ev.Target = []OktaActor{}
			if !r.array(func() { ev.Target = append(ev.Target, r.oktaActor()) }) {
				ev.Target = nil
			}
		default:
			r.skip()
		}
	})
	return ev, r.end()
}

func (r *jreader) user() User {
	var u User
	r.object(func(k string) {
		switch {
		case eq(k, "id"):
			u.ID = r.str()
		case eq(k, "login"):
			u.Login = r.str()
		case eq(k, "email"):
			u.Email = r.str()
		case eq(k, "displayName"):
			u.DisplayName = r.str()
		case eq(k, "firstName"):
			u.FirstName = r.str()
		case eq(k, "lastName"):
			u.LastName = r.str()
		case eq(k, "status"):
			if !r.null() {
				s := r.str()
				u.Status = &s
			}
		case eq(k, "groups"):
			u.Groups = r.strings()
		case eq(k, "apps"):
			u.Apps = r.strings()
		case eq(k, "type"):
			u.Type = r.str()
		case eq(k, "created"):
			u.Created = r.str()
		case eq(k, "activated"):
			u.Activated = r.str()
		case eq(k, "statusChanged"):
			u.StatusChanged = r.str()
		case eq(k, "lastUpdated"):
			u.LastUpdated = r.str()
		case eq(k, "profile"):
			types := u.Profile // profileTypes may have come first
			u.Profile = r.profile()
			for name, t := range types {
				if a, ok := u.Profile[name]; ok {
					a.Type = t.Type
					u.Profile[name] = a
				}
			}
		case eq(k, "profileTypes"):
			types := r.stringMap()
			if u.Profile == nil {
				// profile comes later: keep the types in place for it
				u.Profile = Profile{}
				for name, t := range types {
					u.Profile[name] = Attr{Type: t}
				}
				break
			}
			for name, t := range types {
				if a, ok := u.Profile[name]; ok {
					a.Type = t
					u.Profile[name] = a
				}
			}
		case eq(k, "adminRoles"):
			u.AdminRoles = []AdminRole{}
			r.array(func() {
				var ar AdminRole
				r.object(func(k string) {
					switch {
					case eq(k, "type"):
						ar.Type = r.str()
					case eq(k, "label"):
						ar.Label = r.str()
					default:
						r.skip()
					}
				})
				u.AdminRoles = append(u.AdminRoles, ar)
			})
		default:
			r.skip()
		}
	})
	return u
}

// raw returns the next value's JSON text.
func (r *jreader) raw() string {
	r.peek()
	start := r.i
	r.skip()
	if r.err != nil {
		return ""
	}
	return r.b[start:r.i]
}

// profile reads a profile object; each attribute's type is its JSON type
// (the host's profileTypes refine it).
func (r *jreader) profile() Profile {
	p := Profile{}
	r.object(func(k string) {
		v := r.raw()
		if v == "" || v == "null" {
			return
		}
		p[k] = Attr{Type: jsonTypeOf(v), JSON: v}
	})
	return p
}

func jsonTypeOf(v string) string {
	switch v[0] {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case '[':
		return "array"
	case '{':
		return "object"
	}
	return "number"
}

func (r *jreader) group() Group {
	var g Group
	r.object(func(k string) {
		switch {
		case eq(k, "id"):
			g.ID = r.str()
		case eq(k, "name"):
			g.Name = r.str()
		case eq(k, "description"):
			g.Description = r.str()
		case eq(k, "members"):
			g.Members = r.strings()
		case eq(k, "apps"):
			g.Apps = r.strings()
		case eq(k, "type"):
			g.Type = r.str()
		case eq(k, "profile"):
			g.Profile = r.profile()
		default:
			r.skip()
		}
	})
	return g
}

func decodeUser(b []byte) (*User, error) {
	r := newReaderOwned(b)
	u := r.user()
	return &u, r.end()
}

func decodeGroup(b []byte) (*Group, error) {
	r := newReaderOwned(b)
	g := r.group()
	return &g, r.end()
}

func decodeUsers(b []byte) ([]User, error) {
	r := newReaderOwned(b)
	out := []User{}
	r.array(func() { out = append(out, r.user()) })
	return out, r.end()
}

func decodeGroups(b []byte) ([]Group, error) {
	r := newReaderOwned(b)
	out := []Group{}
	r.array(func() { out = append(out, r.group()) })
	return out, r.end()
}

// encodeDecision writes the ABI output document.
func encodeDecision(dst []byte, d Decision) []byte {
	if d.Success {
		dst = append(dst, `{"success":true`...)
	} else {
		dst = append(dst, `{"success":false`...)
	}
	if d.Message != "" {
		dst = append(dst, `,"message":`...)
		dst = appendStr(dst, d.Message)
	}
	return append(dst, '}')
}

// errorOutput is the ABI's guest error document.
func errorOutput(code, msg string) []byte {
	b := append([]byte(`{"error":{"code":`), appendStr(nil, code)...)
	b = append(b, `,"message":`...)
	b = appendStr(b, msg)
	return append(b, "}}"...)
}

// encodeHTTPRequest writes the http_request document.
func encodeHTTPRequest(req HTTPRequest) []byte {
	b := []byte(`{"method":`)
	b = appendStr(b, req.Method)
	b = append(b, `,"url":`...)
	b = appendStr(b, req.URL)
	if len(req.Headers) > 0 {
		b = append(b, `,"headers":{`...)
		first := true
		for k, v := range req.Headers {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendStr(b, k)
			b = append(b, ':')
			b = appendStr(b, v)
		}
		b = append(b, '}')
	}
	if len(req.Body) > 0 {
		if utf8.Valid(req.Body) {
			b = append(b, `,"body":`...)
			b = appendStr(b, string(req.Body))
		} else {
			b = append(b, `,"body_base64":`...)
			b = appendStr(b, base64.StdEncoding.EncodeToString(req.Body))
		}
	}
	return append(b, '}')
}

func decodeHTTPResponse(b []byte) (*HTTPResponse, error) {
	r := newReaderOwned(b)
	resp := &HTTPResponse{}
	var b64 string
	r.object(func(k string) {
		switch {
		case eq(k, "status"):
			if v := r.int64p(); v != nil {
				resp.Status = int(*v)
			}
		case eq(k, "headers"):
			resp.Headers = r.stringMap()
		case eq(k, "body"):
			resp.Body = []byte(r.str())
		case eq(k, "body_base64"):
			b64 = r.str()
		default:
			r.skip()
		}
	})
	if err := r.end(); err != nil {
		return nil, err
	}
	if b64 != "" {
		body, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, errors.New("body_base64: " + err.Error())
		}
		resp.Body = body
	}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	return resp, nil
}
