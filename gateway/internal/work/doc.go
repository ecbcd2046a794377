// Package work owns the gateway's durable work: the queue worker pool
// (Worker: claim, run, retry with backoff, dead-letter), the [[on_event]]
// plugin runs planned for each new Okta event (Events), and time-boxed
// grants with their expiry scheduler (Grants). New builds them together
// (Pipeline); the constructors take the store, the option structs and the
// interfaces they need (HookDispatcher for deprovisioning, Live for the
// reloadable subscriptions and plugins), nothing is patched in afterwards.
//
// It is internal to the gateway: the composition root in package gateway
// wires it to the Okta ingest path, the dispatcher and the /v1 API. It
// does not read gateway.toml: it owns the [queue], [grants] and
// [[on_event]] tables (QueueOptions, GrantOptions, OnEvent), which
// gateway/config decodes into.
package work
