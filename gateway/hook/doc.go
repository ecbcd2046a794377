// Package hook owns the inline hook decision: parsing and validating a
// Lumos access hook body (ParseHookRequest, with a fast path fuzzed
// against encoding/json), routing it to a plugin by kind, app, instance and
// permission (Router), calling the plugin within the hooks budget and
// auditing the call (Dispatcher), mapping the outcome to the reply Lumos
// expects (Responder), and loading the [[plugin]] set that decides
// (PluginSet, StartupDeciders for the placeholders served while plugins
// compile).
//
// It knows nothing about HTTP serving, the queue or reloads: the gateway's
// /hooks/ endpoint, the grant scheduler and `hookgate plugin test` all call
// the same Dispatcher. It is a public package (not under gateway/internal)
// because cmd/hookgate runs the Dispatcher offline for `plugin test`.
//
// It does not read gateway.toml: NewDispatcher, LoadPlugins and
// StartupDeciders take the values they use (DispatcherOptions,
// PluginsOptions, the [[plugin]] list), each field naming the key that
// fills it; Route and Responses are the [[route]] and [responses.<kind>]
// tables gateway/config decodes into. The gateway's composition root maps
// the config onto them (gateway.HookOptions, gateway.PluginOptions).
package hook
