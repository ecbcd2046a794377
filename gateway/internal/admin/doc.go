// Package admin owns the /v1 admin API's mechanics and its handlers over
// the store and the durable work: the Router that serves the route table
// (method + pattern with {placeholders}, 404/405 in JSON), the JSON reply
// helpers every /v1 handler uses (WriteError, WriteJSON, PageLimit,
// WritePage with its Link rel="next"), the identity and event reads
// (Identity) and the queue, dead-letter and grant endpoints (Queue,
// Grants).
//
// The one route table is in package gateway (routes.go): it lists these
// handlers beside the ones that read the server's own state (stats,
// plugins, cluster, Okta sync, audit, reload), and authentication happens
// there before the Router runs. The documents the handlers write are the
// types of gateway/api.
package admin
