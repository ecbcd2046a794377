// Package duration holds Duration, the time.Duration that configuration
// files write as a Go duration string ("2s", "500ms", "5m"). The option
// structs of plugins, gateway/okta and gateway/config use it, so each
// package can own its config without importing gateway/config.
package duration

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("2s", "5m").
type Duration struct{ time.Duration }

// Of wraps d.
func Of(d time.Duration) Duration { return Duration{d} }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"2s\", \"500ms\", \"5m\")", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
