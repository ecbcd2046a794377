package main

// `hookgate plugin new <name> --lang go|assemblyscript [--kind K]`: a ready
// plugin project in ./<name>/ that builds and passes its own test cases
// without edits, anywhere on disk and offline. Nothing of hookgate is
// published to a registry, so the project carries the SDK this binary was
// built with (sdk.Sources): Go as a local module (./hookgate-sdk, wired in
// by a replace directive), AssemblyScript as a file: dependency. Only the
// AssemblyScript compiler itself comes from npm (its cache, once warm).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/sdk"
)

const pluginNewUsage = "plugin new <name> --lang go|assemblyscript [--kind provisioning|deprovisioning|pre_approval|request_validation|okta_event] [--dir DIR]"

// validPluginName is what a plugin project may be called: it becomes a
// directory, a .wasm file, a Go module path element and an npm name.
var validPluginName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// placeholder is a template field in the project templates: [[.Name]].
var placeholder = regexp.MustCompile(`\[\[(\.[A-Za-z]+)\]\]`)

// kindInfo is what the templates need to know about a hook kind.
type kindInfo struct {
	Kind, GoHandler, ASHandler string
	Success, Failure           string // default response literals
	SuccessFn, FailureFn       string // Go sdk / AS sdk decision helpers
	// Event: an [[on_event]] plugin (okta_event) rather than an inline hook.
	Event bool
}

var newKinds = map[string]kindInfo{
	config.KindProvisioning:      {config.KindProvisioning, "HandleProvisioning", "handleProvisioning", "PROVISIONED_USER", "NO_PROVISIONING_ACTION", "Success", "Failure", false},
	config.KindDeprovisioning:    {config.KindDeprovisioning, "HandleDeprovisioning", "handleDeprovisioning", "DEPROVISIONED_USER", "NO_DEPROVISIONING_ACTION", "Success", "Failure", false},
	config.KindPreApproval:       {config.KindPreApproval, "HandlePreApproval", "handlePreApproval", "APPROVED", "NOT_APPROVED", "Approve", "Deny", false},
	config.KindRequestValidation: {config.KindRequestValidation, "HandleRequestValidation", "handleRequestValidation", "VALID", "INVALID", "Valid", "Invalid", false},
	plugins.KindOktaEvent:        {plugins.KindOktaEvent, "HandleOktaEvent", "handleOktaEvent", "success", "failure", "Success", "Failure", true},
}

func runPluginNew(args []string, stdout, stderr io.Writer) error {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := newFlags("plugin new", stderr)
	lang := fs.String("lang", "go", "go or assemblyscript")
	kind := fs.String("kind", config.KindPreApproval, "the hook kind the plugin handles")
	dir := fs.String("dir", ".", "where to create the project directory")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if !validPluginName.MatchString(name) {
		return fmt.Errorf("%w: plugin name %q: want lower-case letters, digits and '-', starting with a letter", errUsage, name)
	}
	k, ok := newKinds[*kind]
	if !ok {
		return fmt.Errorf("%w: --kind %q: want one of %s, %s", errUsage, *kind, strings.Join(config.Kinds, ", "), plugins.KindOktaEvent)
	}
	if *lang == "as" || *lang == "ts" {
		*lang = "assemblyscript"
	}
	if *lang != "go" && *lang != "assemblyscript" {
		return fmt.Errorf("%w: --lang %q: want go or assemblyscript", errUsage, *lang)
	}
	root := filepath.Join(*dir, name)
	if _, err := os.Stat(root); err == nil {
		return fmt.Errorf("%s already exists; pick another name or remove it", root)
	}
	files, err := newProjectFiles(name, *lang, k)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)
	for _, f := range names {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[f], 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "created %s (%s, %s): %d files\n", root, *lang, k.Kind, len(files))
	fmt.Fprintf(stdout, "next: cd %s && make && make test   (make test runs `hookgate plugin test --cases cases.toml`; set HOOKGATE=/path/to/hookgate if it is not on PATH)\n", root)
	return nil
}

// newProjectFiles renders the project: path (slash-separated) -> content.
func newProjectFiles(name, lang string, k kindInfo) (map[string][]byte, error) {
	data := struct {
		Name string
		kindInfo
		// Caps is the plugin's capabilities as a TOML list; Wiring the
		// gateway.toml lines that send it work.
		Caps, Wiring string
	}{name, k, `["log", "config", "kv", "identity"]`, "[[route]]\nkind = \"" + k.Kind + "\"\napp_id = \"demo_app\"\nplugin = \"" + name + "\""}
	if k.Event {
		data.Caps = `["log", "config", "kv"]`
		data.Wiring = "[[on_event]]\ntypes = [\"group.user_membership.add\"]\nplugin = \"" + name + "\""
	}
	out := map[string][]byte{}
	render := func(dst, tmpl string) error {
		// Placeholders are written [[.Field]]; TOML's [[case]] stays as is.
		t, err := template.New(dst).Parse(placeholder.ReplaceAllString(tmpl, "{{$1}}"))
		if err != nil {
			return fmt.Errorf("template %s: %w", dst, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return fmt.Errorf("template %s: %w", dst, err)
		}
		out[dst] = b.Bytes()
		return nil
	}
	common := map[string]string{
		"payload-member.json":     newPayload("alice@example.com"),
		"payload-not-member.json": newPayload("bob@example.com"),
		"identity.json":           newIdentity,
		"cases.toml":              newCases,
	}
	goMain, asMain := newGoMain, newASMain
	if k.Event {
		common = map[string]string{
			"event-join.json":  newIdentity,
			"event-other.json": newOtherEvent,
			"cases.toml":       newEventCases,
		}
		goMain, asMain = newGoEventMain, newASEventMain
	}
	var tmpls map[string]string
	src := sdk.Sources()
	copyDir := func(from, to string, keep func(string) bool) error {
		return fs.WalkDir(src, from, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !keep(p) {
				return err
			}
			b, err := fs.ReadFile(src, p)
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, from), "/")
			out[path.Join(to, rel)] = b
			return nil
		})
	}
	switch lang {
	case "go":
		tmpls = map[string]string{"main.go": goMain, "go.mod": newGoMod, "Makefile": newGoMakefile, "README.md": newGoREADME}
		out["hookgate-sdk/go.mod"] = []byte("module github.com/hookgate/hookgate\n\ngo 1.24\n")
		if err := copyDir(".", "hookgate-sdk/sdk", func(p string) bool {
			top := strings.TrimPrefix(p, "abi/") // the sdk and its std-only abi package
			return !strings.Contains(top, "/") && p != "sources.go" && (strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") || p == "ABI.md")
		}); err != nil {
			return nil, err
		}
	default:
		tmpls = map[string]string{"assembly/index.ts": asMain, "package.json": newASPackage, "Makefile": newASMakefile, "README.md": newASREADME}
		if err := copyDir("assemblyscript", "hookgate-sdk", func(string) bool { return true }); err != nil {
			return nil, err
		}
		if b, err := fs.ReadFile(src, "ABI.md"); err == nil {
			out["hookgate-sdk/ABI.md"] = b
		}
	}
	for dst, t := range common {
		if err := render(dst, t); err != nil {
			return nil, err
		}
	}
	for dst, t := range tmpls {
		if err := render(dst, t); err != nil {
			return nil, err
		}
	}
	if len(out) < 8 {
		return nil, errors.New("the embedded SDK sources are missing from this binary")
	}
	return out, nil
}

func newPayload(email string) string {
	return `{
  "application": {"app_id": "demo_app", "instance_id": "0oa1example", "user_friendly_label": "Demo App"},
  "permissions": [{"label": "Admin", "value": "admin", "type": "PERMISSION", "source": "OKTA"}],
  "target_user": {"email": "` + email + `", "given_name": "Test", "family_name": "User"},
  "access_length": 3600,
  "request_comment": "Please give me access",
  "request_task_url": "https://example.com/tasks?requestId=1",
  "custom_fields": {"ticket": "INC-1"}
}
`
}

// newIdentity is an Okta event hook delivery: alice joins "approvers".
const newIdentity = `{
  "eventType": "com.okta.event_hook",
  "eventTypeVersion": "1.0",
  "cloudEventsVersion": "0.1",
  "source": "https://example.okta.com/api/v1/eventHooks/who1example",
  "eventId": "00000000-0000-4000-8000-000000000001",
  "data": {
    "events": [
      {
        "uuid": "00000000-0000-4000-8000-000000000002",
        "published": "2026-01-01T00:00:00.000Z",
        "eventType": "group.user_membership.add",
        "version": "0",
        "displayMessage": "Add user to group membership",
        "severity": "INFO",
        "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin"},
        "outcome": {"result": "SUCCESS", "reason": null},
        "target": [
          {"id": "00ualice", "type": "User", "alternateId": "alice@example.com", "displayName": "Alice Example"},
          {"id": "00gapprovers", "type": "UserGroup", "alternateId": "unknown", "displayName": "approvers"}
        ]
      }
    ]
  }
}
`

const newCases = `# Test cases for [[.Name]]: ` + "`make test`" + ` runs them with
# ` + "`hookgate plugin test --cases cases.toml`" + `. Settings at the top apply to
# every [[case]]; a case may override any of them. Paths are relative to
# this file.
plugin = "[[.Name]].wasm"
name = "[[.Name]]"            # the plugin name: its kv namespace in the gateway
kind = "[[.Kind]]"
identity = "identity.json"    # an Okta event hook delivery applied first
capabilities = ["log", "config", "kv", "identity"]
config = { group = "approvers" }

[[case]]
name = "a member of the group"
payload = "payload-member.json"
expect_response = "[[.Success]]"
expect_message = "alice@example.com is in approvers"
expect_logs = ["decision 1: alice@example.com is in approvers"]
expect_kv = { decisions = "1" }

[[case]]
name = "not a member"
payload = "payload-not-member.json"
kv = { decisions = "41" }     # seeded before the call
expect_response = "[[.Failure]]"
expect_message = "bob@example.com is not in approvers"
expect_kv = { decisions = "42" }

[[case]]
name = "without the identity capability"
payload = "payload-member.json"
capabilities = ["log", "config", "kv"]
expect_response = "[[.Failure]]"
expect_message = "identity lookup failed"
`

const newGoMain = `// Command [[.Name]] is a hookgate plugin for the [[.Kind]] hook: it
// decides yes for users in the Okta group named by the config key "group"
// (the gateway's live identity state) and counts its decisions in kv.
//
// Build: make   (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o [[.Name]].wasm .)
// Test:  make test
// Capabilities: log, config, kv, identity.
package main

import (
	"strconv"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.[[.GoHandler]](decide)
}

func decide(req *sdk.Request) sdk.Decision {
	group := sdk.Config("group")
	email := req.TargetUser.Email
	n, err := sdk.KV.Incr("decisions", 1, 0) // atomic across every instance
	if err != nil {
		sdk.Log.Warn("kv: " + err.Error())
	}
	ok, err := sdk.IsMember(email, group)
	if err != nil {
		return sdk.[[.FailureFn]]("identity lookup failed: " + err.Error())
	}
	if !ok {
		return sdk.[[.FailureFn]](email + " is not in " + group)
	}
	sdk.Log.Info("decision " + strconv.FormatInt(n, 10) + ": " + email + " is in " + group)
	return sdk.[[.SuccessFn]](email + " is in " + group)
}
`

const newGoMod = `module example.com/[[.Name]]

go 1.24

require github.com/hookgate/hookgate v0.0.0

// The SDK this project was created with (` + "`hookgate plugin new`" + `), vendored
// so the build needs no network. Replace the directory with a newer copy
// to upgrade.
replace github.com/hookgate/hookgate => ./hookgate-sdk
`

const newGoMakefile = `# [[.Name]]: ` + "`make`" + ` builds [[.Name]].wasm, ` + "`make test`" + ` runs cases.toml.
HOOKGATE ?= hookgate
GO ?= go

[[.Name]].wasm: main.go go.mod $(wildcard hookgate-sdk/sdk/*.go hookgate-sdk/sdk/abi/*.go)
	GOOS=wasip1 GOARCH=wasm GOFLAGS=-mod=mod $(GO) build -buildmode=c-shared -o $@ .

.PHONY: test clean
test: [[.Name]].wasm
	$(HOOKGATE) plugin test --cases cases.toml

clean:
	rm -f [[.Name]].wasm
`

const newGoREADME = "# [[.Name]]\n\n" +
	"A hookgate plugin (Go) for the `[[.Kind]]` hook, created by `hookgate plugin new`.\n\n" +
	"- `make` builds `[[.Name]].wasm` with the standard Go toolchain (1.24+, no TinyGo).\n" +
	"- `make test` runs the cases in `cases.toml` with `hookgate plugin test --cases`\n" +
	"  (hookgate from PATH, or `make test HOOKGATE=/path/to/hookgate`).\n" +
	"- `hookgate-sdk/` is the hookgate Go SDK this project was created with, used\n" +
	"  through the `replace` directive in go.mod: the build needs no network.\n" +
	"  `hookgate-sdk/sdk/ABI.md` is the plugin ABI.\n\n" +
	"Add it to gateway.toml:\n\n" +
	"```toml\n[[plugin]]\nname = \"[[.Name]]\"\npath = \"/path/to/[[.Name]].wasm\"\n" +
	"capabilities = [[.Caps]]\nconfig = { group = \"approvers\" }\n\n" +
	"[[.Wiring]]\n```\n\n" +
	"The plugin's kv data lives under its `name`: renaming it starts with empty kv.\n"

const newASMain = `// [[.Name]]: a hookgate plugin for the [[.Kind]] hook, in AssemblyScript.
// It decides yes for users in the Okta group named by the config key
// "group" (the gateway's live identity state) and counts its decisions in kv.
//
// Build: make   Test: make test   Capabilities: log, config, kv, identity.
import {
  Request, Decision, [[.ASHandler]], config, log, kv, isMember, lastError, lastErrorMessage,
  success, failure,
} from "@hookgate/sdk/assembly/index";
// The ABI exports (hookgate_abi_version, hookgate_alloc, hookgate_call, hookgate_call_flat).
export * from "@hookgate/sdk/assembly/exports";

function decide(req: Request): Decision {
  const group = config("group");
  const email = req.targetUser.email;
  const n = kv.incr("decisions", 1); // atomic across every instance
  if (lastError() != null) log.warn("kv: " + lastErrorMessage());
  const member = isMember(email, group);
  if (lastError() != null) return failure("identity lookup failed: " + lastErrorMessage());
  if (!member) return failure(email + " is not in " + group);
  log.info("decision " + n.toString() + ": " + email + " is in " + group);
  return success(email + " is in " + group);
}

[[.ASHandler]](decide);
`

const newASPackage = `{
  "name": "[[.Name]]",
  "version": "0.1.0",
  "private": true,
  "description": "hookgate plugin for the [[.Kind]] hook",
  "scripts": {
    "build": "asc assembly/index.ts -o [[.Name]].wasm -O3 --use abort=~lib/@hookgate/sdk/assembly/abort/abort"
  },
  "dependencies": {
    "@hookgate/sdk": "file:./hookgate-sdk"
  },
  "devDependencies": {
    "assemblyscript": "0.28.20"
  }
}
`

const newASMakefile = `# [[.Name]]: ` + "`make`" + ` builds [[.Name]].wasm, ` + "`make test`" + ` runs cases.toml.
# The AssemblyScript compiler comes from npm (once; later installs use npm's
# cache, so they work offline); the SDK is the local ./hookgate-sdk.
HOOKGATE ?= hookgate

[[.Name]].wasm: assembly/index.ts $(wildcard hookgate-sdk/assembly/*.ts) node_modules/.package-lock.json
	node_modules/.bin/asc assembly/index.ts -o $@ -O3 --use abort=~lib/@hookgate/sdk/assembly/abort/abort

node_modules/.package-lock.json: package.json
	npm install --prefer-offline --no-audit --no-fund

.PHONY: test clean
test: [[.Name]].wasm
	$(HOOKGATE) plugin test --cases cases.toml

clean:
	rm -rf [[.Name]].wasm node_modules
`

const newASREADME = "# [[.Name]]\n\n" +
	"A hookgate plugin (AssemblyScript) for the `[[.Kind]]` hook, created by `hookgate plugin new`.\n\n" +
	"- `make` installs the pinned AssemblyScript compiler with npm (the only thing\n" +
	"  fetched; npm's cache serves later installs offline) and builds `[[.Name]].wasm`.\n" +
	"- `make test` runs the cases in `cases.toml` with `hookgate plugin test --cases`\n" +
	"  (hookgate from PATH, or `make test HOOKGATE=/path/to/hookgate`).\n" +
	"- `hookgate-sdk/` is the hookgate AssemblyScript SDK this project was created\n" +
	"  with (a `file:` dependency; its README explains the API and why\n" +
	"  `--use abort=…` is needed). `hookgate-sdk/ABI.md` is the plugin ABI.\n\n" +
	"Add it to gateway.toml:\n\n" +
	"```toml\n[[plugin]]\nname = \"[[.Name]]\"\npath = \"/path/to/[[.Name]].wasm\"\n" +
	"capabilities = [[.Caps]]\nconfig = { group = \"approvers\" }\n\n" +
	"[[.Wiring]]\n```\n\n" +
	"The plugin's kv data lives under its `name`: renaming it starts with empty kv.\n"

// newOtherEvent is an Okta event hook delivery of an event the okta_event
// template ignores.
const newOtherEvent = `{
  "eventType": "com.okta.event_hook",
  "eventTypeVersion": "1.0",
  "cloudEventsVersion": "0.1",
  "source": "https://example.okta.com/api/v1/eventHooks/who1example",
  "eventId": "00000000-0000-4000-8000-000000000003",
  "data": {
    "events": [
      {
        "uuid": "00000000-0000-4000-8000-000000000004",
        "published": "2026-01-01T00:01:00.000Z",
        "eventType": "user.session.start",
        "version": "0",
        "displayMessage": "User login to Okta",
        "severity": "INFO",
        "actor": {"id": "00ubob", "type": "User", "alternateId": "bob@example.com", "displayName": "Bob Example"},
        "outcome": {"result": "SUCCESS", "reason": null},
        "target": []
      }
    ]
  }
}
`

const newEventCases = `# Test cases for [[.Name]]: ` + "`make test`" + ` runs them with
# ` + "`hookgate plugin test --cases cases.toml`" + `. Settings at the top apply to
# every [[case]]; a case may override any of them. Paths are relative to
# this file. Each payload is an Okta event hook delivery of one event; it
# is applied to the (fresh, in-memory) identity store before the plugin
# runs, as the gateway does. The response is "success" or "failure" (the
# gateway retries the event later).
plugin = "[[.Name]].wasm"
name = "[[.Name]]"            # the plugin name: its kv namespace in the gateway
kind = "okta_event"
capabilities = ["log", "config", "kv"]
config = { group = "approvers" }

[[case]]
name = "a join to the group"
payload = "event-join.json"
expect_response = "success"
expect_message = "alice@example.com joined approvers"
expect_logs = ["join 1: alice@example.com joined approvers"]
expect_kv = { joins = "1" }

[[case]]
name = "another event"
payload = "event-other.json"
kv = { joins = "41" }         # seeded before the call
expect_response = "success"
expect_message = "ignored user.session.start"
expect_kv = { joins = "41" }

[[case]]
name = "without the kv capability"
payload = "event-join.json"
capabilities = ["log", "config"]
expect_response = "failure"
expect_message = "kv:"
`

const newGoEventMain = `// Command [[.Name]] is a hookgate plugin for Okta events ([[on_event]]):
// it counts the users who join the Okta group named by the config key
// "group" in kv and logs each join; other events are acknowledged.
//
// Build: make   (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o [[.Name]].wasm .)
// Test:  make test
// Capabilities: log, config, kv.
package main

import (
	"strconv"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandleOktaEvent(onEvent)
}

func onEvent(ev *sdk.OktaEvent) sdk.Decision {
	group := sdk.Config("group")
	users, groups := ev.Targets("User"), ev.Targets("UserGroup")
	if ev.EventType != "group.user_membership.add" || len(users) == 0 || len(groups) == 0 || groups[0].DisplayName != group {
		return sdk.Success("ignored " + ev.EventType)
	}
	login := users[0].AlternateID
	n, err := sdk.KV.Incr("joins", 1, 0) // atomic across every instance
	if err != nil {
		return sdk.Failure("kv: " + err.Error()) // a failure: the gateway retries the event later
	}
	sdk.Log.Info("join " + strconv.FormatInt(n, 10) + ": " + login + " joined " + group)
	return sdk.Success(login + " joined " + group)
}
`

const newASEventMain = `// [[.Name]]: a hookgate plugin for Okta events ([[on_event]]), in
// AssemblyScript. It counts the users who join the Okta group named by the
// config key "group" in kv and logs each join; other events are
// acknowledged.
//
// Build: make   Test: make test   Capabilities: log, config, kv.
import {
  OktaEvent, Decision, handleOktaEvent, config, log, kv, lastError, lastErrorMessage, success, failure,
} from "@hookgate/sdk/assembly/index";
// The ABI exports (hookgate_abi_version, hookgate_alloc, hookgate_call, hookgate_call_flat).
export * from "@hookgate/sdk/assembly/exports";

function onEvent(ev: OktaEvent): Decision {
  const group = config("group");
  const users = ev.targets("User"), groups = ev.targets("UserGroup");
  if (ev.eventType != "group.user_membership.add" || users.length == 0 || groups.length == 0 || groups[0].displayName != group) {
    return success("ignored " + ev.eventType);
  }
  const login = users[0].alternateId;
  const n = kv.incr("joins", 1); // atomic across every instance
  if (lastError() != null) return failure("kv: " + lastErrorMessage()); // a failure: the gateway retries the event later
  log.info("join " + n.toString() + ": " + login + " joined " + group);
  return success(login + " joined " + group);
}

handleOktaEvent(onEvent);
`
