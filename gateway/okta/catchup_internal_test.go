package okta

import (
	"slices"
	"testing"
)

// Catch-up must read exactly the types Apply models, or a missed event of
// a new type would never be caught up.
func TestCatchUpTypesAreTheModelledTypes(t *testing.T) {
	var modelled []string
	for typ := range requiredTargets {
		modelled = append(modelled, typ)
	}
	got := slices.Clone(CatchUpEventTypes)
	slices.Sort(modelled)
	slices.Sort(got)
	if !slices.Equal(got, modelled) {
		t.Fatalf("CatchUpEventTypes = %v\nmodelled types   = %v", got, modelled)
	}
}
