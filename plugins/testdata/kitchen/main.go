// Command kitchen is a test plugin whose behaviour for every hook kind is
// chosen by the request's request_comment ("action" or "action:arg"), so one
// .wasm covers the host's normal and hostile cases.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

var sink [][]byte

func handle(req *sdk.Request) sdk.Decision {
	action, arg, _ := strings.Cut(req.RequestComment, ":")
	switch action {
	case "echo":
		return sdk.Success(req.TargetUser.Email)
	case "config":
		v, err := sdk.LookupConfig(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success(v)
	case "log":
		sdk.Log.Info("hello %s", req.TargetUser.Email)
		sdk.Log.Warn("careful")
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		return sdk.Success("logged")
	case "debugflood": // 300 debug lines, then one info line
		for i := 0; i < 300; i++ {
			sdk.Log.Debug("debug %d", i)
		}
		sdk.Log.Info("after the debug lines")
		return sdk.Success("flooded")
	case "logflood":
		for i := 0; i < 10000; i++ {
			sdk.Log.Info("line %d", i)
		}
		return sdk.Success("flooded")
	case "kvset":
		k, v, _ := strings.Cut(arg, "=")
		ttl := time.Duration(0)
		if k2, t, ok := strings.Cut(k, "@"); ok {
			k = k2
			d, _ := time.ParseDuration(t)
			ttl = d
		}
		if err := sdk.KV.Set(k, []byte(v), ttl); err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success("set")
	case "kvget":
		v, err := sdk.KV.Get(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success(string(v))
	case "kvincr": // arg: key or key+delta
		k, d, _ := strings.Cut(arg, "+")
		delta := int64(1)
		if d != "" {
			delta, _ = strconv.ParseInt(d, 10, 64)
		}
		n, err := sdk.KV.Incr(k, delta, 0)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success(strconv.FormatInt(n, 10))
	case "kvcas": // arg: key=old>new, or key=>new for "only if absent"
		k, rest, _ := strings.Cut(arg, "=")
		old, nv, _ := strings.Cut(rest, ">")
		var ok bool
		var err error
		if old == "" {
			ok, err = sdk.KV.SetIfAbsent(k, []byte(nv), 0)
		} else {
			ok, err = sdk.KV.CompareAndSet(k, []byte(old), []byte(nv), 0)
		}
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success(strconv.FormatBool(ok))
	case "kvdel":
		if err := sdk.KV.Delete(arg); err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success("deleted")
	case "member":
		ok, err := sdk.IsMember(req.TargetUser.Email, arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Decision{Success: ok, Message: "member=" + fmt.Sprint(ok)}
	case "user":
		u, err := sdk.LookupUser(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		b, _ := json.Marshal(u)
		return sdk.Success(string(b))
	case "useremail": // the SDK's user_get by email
		u, err := sdk.UserByEmail(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		b, _ := json.Marshal(u)
		return sdk.Success(string(b))
	case "groups":
		gs, err := sdk.UserGroups(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		var names []string
		for _, g := range gs {
			names = append(names, g.Name)
		}
		return sdk.Success(strings.Join(names, ","))
	case "members":
		us, err := sdk.GroupMembers(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		var logins []string
		for _, u := range us {
			logins = append(logins, u.Login)
		}
		return sdk.Success(strings.Join(logins, ","))
	case "group":
		g, err := sdk.LookupGroup(arg)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success(g.ID + "/" + g.Name)
	case "http":
		resp, err := sdk.HTTP.Post(arg, "application/json", []byte(`{"user":"`+req.TargetUser.Email+`"}`), map[string]string{"X-Test": "1"})
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Decision{Success: resp.Status == 200, Message: fmt.Sprintf("%d %s %s", resp.Status, resp.Headers["X-Reply"], resp.Body)}
	case "httpcred": // a GET carrying credentials; the reply names what arrived
		resp, err := sdk.HTTP.Do(sdk.HTTPRequest{Method: "GET", URL: arg, Headers: map[string]string{
			"Authorization": "Bearer plugin-secret", "Cookie": "session=plugin-cookie",
			"Proxy-Authorization": "Basic cHJveHk=", "X-Test": "1"}})
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Decision{Success: resp.Status == 200, Message: fmt.Sprintf("%d %s", resp.Status, resp.Body)}
	case "loop":
		for {
		}
	case "hostcalls": // arg: how many config lookups (host-call overhead benchmarks)
		n, _ := strconv.Atoi(arg)
		for range n {
			sdk.LookupConfig("greeting")
		}
		return sdk.Success("done")
	case "dump": // the request as the guest decoded it
		b, err := json.Marshal(req)
		if err != nil {
			return sdk.Failure(err.Error())
		}
		return sdk.Success(string(b))
	case "sleep":
		time.Sleep(time.Hour)
		return sdk.Success("woke up")
	case "bomb":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "panic":
		panic("kitchen panics: " + arg)
	case "exit":
		os.Exit(3)
	case "huge":
		return sdk.Success(strings.Repeat("x", 2<<20))
	}
	return sdk.Failure("unknown action " + action)
}

func init() {
	sdk.HandleProvisioning(handle)
	sdk.HandleDeprovisioning(handle)
	sdk.HandlePreApproval(handle)
	sdk.HandleOktaEvent(func(ev *sdk.OktaEvent) sdk.Decision {
		users := ev.Targets("User")
		if len(users) == 0 {
			return sdk.Failure("no user target in " + ev.EventType)
		}
		return sdk.Success(ev.EventType + " " + users[0].AlternateID + " " + ev.Published.UTC().Format(time.RFC3339))
	})
}
