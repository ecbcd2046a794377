package sdk

// Profile is an Okta profile: every attribute, base and custom, by name.
// The accessors return the zero value when the attribute is absent (Okta
// leaves null attributes out) or of another type; Lookup and Has tell the
// cases apart.
type Profile map[string]Attr

// Attr is one profile attribute: its type (string, number, integer,
// boolean, array or object; the user schema's where the gateway read it)
// and its value as JSON text.
type Attr struct {
	Type string
	JSON string
}

func attrTypeName(c byte) string {
	switch c {
	case 's':
		return "string"
	case 'n':
		return "number"
	case 'i':
		return "integer"
	case 'b':
		return "boolean"
	case 'a':
		return "array"
	case 'o':
		return "object"
	}
	return ""
}

// Lookup returns the attribute and whether the profile has it.
func (p Profile) Lookup(name string) (Attr, bool) {
	a, ok := p[name]
	return a, ok
}

// Has reports whether the profile has the attribute (with a non-null value).
func (p Profile) Has(name string) bool {
	_, ok := p[name]
	return ok
}

// String returns a string attribute ("" when absent or not a string).
func (p Profile) String(name string) string {
	a, ok := p[name]
	if !ok || len(a.JSON) == 0 || a.JSON[0] != '"' {
		return ""
	}
	r := &jreader{b: a.JSON}
	s := r.str()
	if r.err != nil {
		return ""
	}
	return s
}

// Bool returns a boolean attribute (false when absent or not a boolean).
func (p Profile) Bool(name string) bool {
	return p[name].JSON == "true"
}

// Number returns a number or integer attribute and whether it is one.
func (p Profile) Number(name string) (float64, bool) {
	a, ok := p[name]
	if !ok || len(a.JSON) == 0 || !(a.JSON[0] == '-' || (a.JSON[0] >= '0' && a.JSON[0] <= '9')) {
		return 0, false
	}
	r := &jreader{b: a.JSON}
	v, _ := r.any().(float64)
	return v, r.err == nil
}

// Strings returns an array attribute's string elements (a string
// attribute as one element; nil when absent or of another type).
func (p Profile) Strings(name string) []string {
	a, ok := p[name]
	if !ok || len(a.JSON) == 0 {
		return nil
	}
	switch a.JSON[0] {
	case '"':
		return []string{p.String(name)}
	case '[':
		r := &jreader{b: a.JSON}
		var out []string
		r.array(func() {
			if r.peek() == '"' {
				out = append(out, r.str())
			} else {
				r.skip()
			}
		})
		if r.err != nil {
			return nil
		}
		return out
	}
	return nil
}
