package gateway

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hookgate/hookgate/gateway/config"
)

// reloadable lists every gateway.toml key a reload knows how to apply:
// each is read from the new generation (its config, dispatcher, hook and
// Okta handlers, plugins) or applied by ReloadOptions.Applied. A key is
// either listed here or a change to it is refused with restart_required:
// reload fails closed, so a key added to the config later is restart-only
// until someone makes the reload apply it and lists it here.
var reloadable = map[string]bool{
	"log.level": true, // ReloadOptions.Applied

	"okta.path":           true, // Generation.oktaPath
	"okta.auth_header":    true, // okta handler reads the generation's config
	"okta.secret_env":     true, // Generation.oktaSecret
	"okta.max_body_bytes": true,

	"hooks.auth_header":    true, // NewHookHandler, per generation
	"hooks.secret_env":     true,
	"hooks.max_body_bytes": true,
	"hooks.timeout":        true, // NewDispatcher, per generation
	"hooks.durable_audit":  true,

	"admin.token_env": true, // Generation.adminToken

	// Plugins are loaded anew for each generation.
	"plugin":                          true,
	"plugins.pool_size":               true,
	"plugins.timeout":                 true,
	"plugins.memory_limit":            true,
	"plugins.http_timeout":            true,
	"plugins.max_http_request_bytes":  true,
	"plugins.max_http_response_bytes": true,
	"plugins.max_output_bytes":        true,
	"plugins.max_module_bytes":        true,
	"plugins.max_code_bytes":          true,
	"plugins.max_functions":           true,
	"plugins.max_locals_per_function": true,
	"plugins.max_locals":              true,
	"plugins.max_table_entries":       true,

	"route":     true, // the generation's Router
	"responses": true, // the generation's Responder
	"on_event":  true, // Events reads the current generation's subscriptions
}

// restartOnly refuses a reload that changes any key the reload does not
// explicitly apply (reloadable), naming every such key.
func restartOnly(old, cur *config.Config) error {
	changed := changedKeys(reflect.ValueOf(*old), reflect.ValueOf(*cur), "")
	if len(changed) > 0 {
		return &ReloadError{RestartRequired: true, Err: fmt.Errorf(
			"%s changed: only a restart applies it; the running configuration keeps serving (revert the change to reload the rest)",
			strings.Join(changed, ", "))}
	}
	return nil
}

// changedKeys walks two config structs by their toml keys and returns the
// keys (dotted, sorted) whose values differ and that are not reloadable.
// Fields without a toml key (toml:"-", unexported) are derived, not
// configured, and skipped; embedded structs contribute their keys at the
// same level.
func changedKeys(old, cur reflect.Value, prefix string) []string {
	var out []string
	t := old.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" {
			continue
		}
		ov, cv := old.Field(i), cur.Field(i)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, changedKeys(ov, cv, prefix)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + name
		if reloadable[key] {
			continue
		}
		if f.Type.Kind() == reflect.Struct && !isLeaf(f.Type) {
			out = append(out, changedKeys(ov, cv, key+".")...)
			continue
		}
		if !reflect.DeepEqual(ov.Interface(), cv.Interface()) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// isLeaf: struct types that are one config value (durations).
func isLeaf(t reflect.Type) bool { return t == reflect.TypeOf(config.Duration{}) }
