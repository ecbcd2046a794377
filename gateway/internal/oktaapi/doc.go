// Package oktaapi is the Okta Management API side of the running gateway:
// full sync on request (POST/GET /v1/okta/sync), System Log catch-up at
// start-up and every okta.catchup_interval (GET /v1/okta/catchup), the
// background user lookups (GET /v1/okta/refresh), and plugin actions on
// Okta (the okta_action host function, plugins.OktaActions). It talks to
// Okta through gateway/okta; catch-up ingests through the gateway's own
// event path (Gateway), so a missed event is handled exactly like a
// delivered one.
//
// It is internal to the gateway: gateway.Build constructs it and the /v1
// route table lists its handlers. It does not read gateway.toml: Options
// carries the [okta] table (okta.Options) and the [[on_event]] tables.
package oktaapi
