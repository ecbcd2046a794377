package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/hookgate/hookgate/store"
)

// capSet is a plugin's granted capabilities as bits.
type capSet uint8

const (
	capConfig capSet = 1 << iota
	capKV
	capIdentity
	capHTTP
	capOkta
)

var capBits = map[string]capSet{
	CapConfig:   capConfig,
	CapKV:       capKV,
	CapIdentity: capIdentity,
	CapHTTP:     capHTTP,
	CapOkta:     capOkta,
}

var capNames = map[capSet]string{
	capConfig: CapConfig, capKV: CapKV, capIdentity: CapIdentity,
	capHTTP: CapHTTP, capOkta: CapOkta,
}

// parseCaps converts capability names, which Config.Validate has checked;
// "log" is always granted (the guest's stdout and stderr reach the log
// anyway).
func parseCaps(names []string) capSet {
	var c capSet
	for _, n := range names {
		c |= capBits[n]
	}
	return c
}

// hostFunc is one import of module "hookgate".
type hostFunc struct {
	params, results []api.ValueType
	fn              func(p *Plugin, ctx context.Context, in *instance, stack []uint64)
}

// hostFuncSpecs is ABI v1's import table (sdk/ABI.md).
var hostFuncSpecs map[string]hostFunc

func init() {
	hostFuncSpecs = map[string]hostFunc{
		"log":         {[]api.ValueType{i32, i32, i32}, nil, hLog},
		"result_len":  {nil, []api.ValueType{i32}, hResultLen},
		"result_read": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hResultRead},
		"config_get":  {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hConfigGet},
		"kv_get":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hKVGet},
		"kv_set":      {[]api.ValueType{i32, i32, i32, i32, i64}, []api.ValueType{i32}, hKVSet},
		"kv_delete":   {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hKVDelete},
		// ABI 1.1
		"kv_incr":            {[]api.ValueType{i32, i32, i64, i64}, []api.ValueType{i32}, hKVIncr},
		"kv_compare_and_set": {[]api.ValueType{i32, i32, i32, i32, i32, i32, i32, i64}, []api.ValueType{i32}, hKVCompareAndSet},
		"user_get":           {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}, hUserGet},
		"user_groups":        {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hUserGroups},
		"group_get":          {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hGroupGet},
		"group_members":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hGroupMembers},
		"is_member":          {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, hIsMember},
		"http_request":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hHTTPRequest},
		"okta_action":        {[]api.ValueType{i32, i32}, []api.ValueType{i32}, hOktaAction},
	}
}

// instantiateHostModule registers module "hookgate" in the plugin's runtime.
func (p *Plugin) instantiateHostModule(ctx context.Context) error {
	b := p.rt.NewHostModuleBuilder(hostModuleName)
	for name, spec := range hostFuncSpecs {
		fn := spec.fn
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				in, _ := ctx.Value(instKey{}).(*instance)
				if in == nil {
					// Not reachable through Call; fail closed.
					if len(stack) > 0 {
						stack[0] = api.EncodeI32(codeUnavailable)
					}
					return
				}
				if in.mem == nil { // during _initialize
					in.mem = mod.Memory()
				}
				fn(p, ctx, in, stack)
			}), spec.params, spec.results).
			Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// --- helpers ---

func (in *instance) read(ptr, n uint64) ([]byte, bool) {
	return in.mem.Read(uint32(ptr), uint32(n))
}

func (in *instance) readString(ptr, n uint64) (string, bool) {
	b, ok := in.read(ptr, n)
	return string(b), ok
}

// ok stashes data as the pending result and returns its length.
func (in *instance) ok(stack []uint64, data []byte) {
	in.pending = data
	stack[0] = api.EncodeI32(int32(len(data)))
}

// fail stashes msg, notes it in the call's logs (except not-found, which
// is routine) and returns code.
func (in *instance) fail(stack []uint64, op string, code int32, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	in.pending = append(in.pending[:0], msg...)
	stack[0] = api.EncodeI32(code)
	if code != codeNotFound {
		in.emit(slog.LevelWarn, "host", op+": "+msg)
	}
}

// need checks a capability, failing the call with ERR_CAPABILITY.
func (in *instance) need(stack []uint64, op string, c capSet) bool {
	if in.p.caps&c != 0 {
		return true
	}
	name := capNames[c]
	in.fail(stack, op, codeCapability, "capability %q not granted to plugin %q (add it to capabilities in its [[plugin]] table)", name, in.p.cfg.Name)
	return false
}

func badPointer(in *instance, stack []uint64, op string) {
	in.fail(stack, op, codeInvalid, "argument pointer/length outside the module's memory")
}

// storeFail maps a store error to a code.
func storeFail(in *instance, stack []uint64, op, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		in.fail(stack, op, codeNotFound, "%s not found", what)
	case errors.Is(err, store.ErrKVTooLarge):
		in.fail(stack, op, codeTooLarge, "%v", err)
	case errors.Is(err, store.ErrKVQuota):
		in.fail(stack, op, codeTooLarge, "%v (delete keys, use TTLs, or raise kv_max_keys / kv_max_bytes in the [[plugin]] table)", err)
	case errors.Is(err, store.ErrKVBadKey), errors.Is(err, store.ErrKVNotInteger):
		in.fail(stack, op, codeInvalid, "%v", err)
	default:
		in.fail(stack, op, codeUnavailable, "%s: %v", what, err)
	}
}

func marshalTo(in *instance, stack []uint64, op string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		in.fail(stack, op, codeUnavailable, "encode: %v", err)
		return
	}
	in.ok(stack, b)
}

// --- functions ---

// log(level i32, ptr i32, len i32): always allowed.
func hLog(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	msg, ok := in.readString(stack[1], stack[2])
	if !ok {
		in.emit(slog.LevelWarn, "host", "log: message pointer outside the module's memory")
		return
	}
	level := slog.LevelInfo
	switch api.DecodeI32(stack[0]) {
	case 0:
		level = slog.LevelDebug
	case 2:
		level = slog.LevelWarn
	case 3:
		level = slog.LevelError
	}
	in.emit(level, "log", msg)
}

// result_len() -> i32
func hResultLen(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	stack[0] = api.EncodeI32(int32(len(in.pending)))
}

// result_read(ptr i32, len i32) -> i32 bytes copied
func hResultRead(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	n := min(uint32(len(in.pending)), uint32(stack[1]))
	if !in.mem.Write(uint32(stack[0]), in.pending[:n]) {
		stack[0] = api.EncodeI32(codeInvalid)
		return
	}
	stack[0] = api.EncodeI32(int32(n))
}

// config_get(key_ptr, key_len) -> i32
func hConfigGet(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "config_get"
	if !in.need(stack, op, capConfig) {
		return
	}
	key, ok := in.read(stack[0], stack[1])
	if !ok {
		badPointer(in, stack, op)
		return
	}
	v, found := p.cfg.Config[string(key)]
	if !found {
		in.fail(stack, op, codeNotFound, "config key %q not set", key)
		return
	}
	in.ok(stack, []byte(v))
}

func (in *instance) kvKey(stack []uint64, op string, ptr, n uint64) (string, bool) {
	if !in.need(stack, op, capKV) {
		return "", false
	}
	if in.p.host.opts.KV == nil {
		in.fail(stack, op, codeUnavailable, "no key/value store configured in this host")
		return "", false
	}
	if uint32(n) > store.MaxKVKeyBytes {
		in.fail(stack, op, codeTooLarge, "key of %d bytes exceeds %d", uint32(n), store.MaxKVKeyBytes)
		return "", false
	}
	key, ok := in.readString(ptr, n)
	if !ok {
		badPointer(in, stack, op)
		return "", false
	}
	return key, true
}

// kv_get(key_ptr, key_len) -> i32
func hKVGet(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "kv_get"
	key, ok := in.kvKey(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	v, err := p.host.opts.KV.KVGet(p.cfg.Name, key)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("key %q", key), err)
		return
	}
	in.ok(stack, v)
}

// kv_set(key_ptr, key_len, val_ptr, val_len, ttl_seconds i64) -> i32
func hKVSet(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "kv_set"
	key, ok := in.kvKey(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	if uint32(stack[3]) > store.MaxKVValueBytes {
		in.fail(stack, op, codeTooLarge, "value of %d bytes exceeds %d", uint32(stack[3]), store.MaxKVValueBytes)
		return
	}
	val, ok := in.read(stack[2], stack[3])
	if !ok {
		badPointer(in, stack, op)
		return
	}
	ttl, ok := ttlArg(in, stack, op, stack[4])
	if !ok {
		return
	}
	if err := p.host.opts.KV.KVSet(p.cfg.Name, key, val, ttl); err != nil {
		storeFail(in, stack, op, fmt.Sprintf("key %q", key), err)
		return
	}
	in.ok(stack, nil)
}

// kv_delete(key_ptr, key_len) -> i32
func hKVDelete(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "kv_delete"
	key, ok := in.kvKey(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	if err := p.host.opts.KV.KVDelete(p.cfg.Name, key); err != nil {
		storeFail(in, stack, op, fmt.Sprintf("key %q", key), err)
		return
	}
	in.ok(stack, nil)
}

// ttlArg validates a ttl_seconds argument.
func ttlArg(in *instance, stack []uint64, op string, v uint64) (time.Duration, bool) {
	ttl := int64(v)
	if ttl < 0 || ttl > maxTTLSeconds {
		in.fail(stack, op, codeInvalid, "ttl_seconds %d out of range (0 = no expiry, at most 10 years)", ttl)
		return 0, false
	}
	return time.Duration(ttl) * time.Second, true
}

// maxTTLSeconds is the longest kv ttl_seconds, 10 years.
const maxTTLSeconds = 10 * 365 * 24 * 3600

// kv_incr(key_ptr, key_len, delta i64, ttl_seconds i64) -> i32: the new
// value as decimal text in the pending result.
func hKVIncr(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "kv_incr"
	key, ok := in.kvKey(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	ttl, ok := ttlArg(in, stack, op, stack[3])
	if !ok {
		return
	}
	n, err := p.host.opts.KV.KVIncr(p.cfg.Name, key, int64(stack[2]), ttl)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("key %q", key), err)
		return
	}
	in.ok(stack, strconv.AppendInt(in.pending[:0], n, 10))
}

// kv_compare_and_set(key_ptr, key_len, expect i32, old_ptr, old_len,
// new_ptr, new_len, ttl_seconds i64) -> i32: 1 stored, 0 the key did not
// hold the expected value (expect 1: old; expect 0: absent).
func hKVCompareAndSet(p *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "kv_compare_and_set"
	key, ok := in.kvKey(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	expect := api.DecodeI32(stack[2])
	if expect != 0 && expect != 1 {
		in.fail(stack, op, codeInvalid, "expect %d: want 0 (key absent) or 1 (key holds old)", expect)
		return
	}
	if uint32(stack[6]) > store.MaxKVValueBytes {
		in.fail(stack, op, codeTooLarge, "value of %d bytes exceeds %d", uint32(stack[6]), store.MaxKVValueBytes)
		return
	}
	var old []byte
	if expect == 1 {
		if old, ok = in.read(stack[3], stack[4]); !ok {
			badPointer(in, stack, op)
			return
		}
	}
	val, ok := in.read(stack[5], stack[6])
	if !ok {
		badPointer(in, stack, op)
		return
	}
	ttl, ok := ttlArg(in, stack, op, stack[7])
	if !ok {
		return
	}
	swapped, err := p.host.opts.KV.KVCompareAndSet(p.cfg.Name, key, old, expect == 1, val, ttl)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("key %q", key), err)
		return
	}
	in.pending = in.pending[:0]
	if swapped {
		stack[0] = 1
	} else {
		stack[0] = 0
	}
}

// identity checks the capability and backend, and reads one string arg.
func (in *instance) identity(stack []uint64, op string, ptr, n uint64) (Identity, string, bool) {
	if !in.need(stack, op, capIdentity) {
		return nil, "", false
	}
	id := in.p.host.opts.Identity
	if id == nil {
		in.fail(stack, op, codeUnavailable, "no identity store configured in this host")
		return nil, "", false
	}
	ref, ok := in.readString(ptr, n)
	if !ok {
		badPointer(in, stack, op)
		return nil, "", false
	}
	return id, ref, true
}

// user_get(by i32, ref_ptr, ref_len) -> i32
func hUserGet(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "user_get"
	by := api.DecodeI32(stack[0])
	flat := by&userGetFlat != 0 && flatUserResults
	profile := flat && by&userGetProfile != 0 && flatProfileResults
	if flat {
		by &^= userGetFlat
		if profile {
			by &^= userGetProfile
		}
	}
	id, ref, ok := in.identity(stack, op, stack[1], stack[2])
	if !ok {
		return
	}
	var u *store.User
	var err error
	switch by {
	case byAny:
		u, err = id.LookupUser(ref)
	case byID:
		u, err = id.UserByID(ref)
	case byLogin:
		u, err = id.UserByLogin(ref)
	case byEmail:
		u, err = id.UserByEmail(ref)
	default:
		in.fail(stack, op, codeInvalid, "unknown selector %d (0 any, 1 id, 2 login, 3 email; flag 0x100 flat result, with 0x200 flat version 2 with the profile)", by)
		return
	}
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("user %q", ref), err)
		return
	}
	if profile {
		in.ok(stack, appendFlatUserV2(in.pending[:0], u))
		return
	}
	if flat {
		in.ok(stack, appendFlatUser(in.pending[:0], u))
		return
	}
	marshalTo(in, stack, op, u)
}

// user_groups(ref_ptr, ref_len) -> i32
func hUserGroups(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "user_groups"
	id, ref, ok := in.identity(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	_, gs, err := id.UserWithGroups(ref)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("user %q", ref), err)
		return
	}
	out := make([]groupSummary, len(gs))
	for i, g := range gs {
		out[i] = groupSummary{ID: g.ID, Name: g.Name, Description: g.Description}
	}
	marshalTo(in, stack, op, out)
}

// group_get(ref_ptr, ref_len) -> i32
func hGroupGet(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "group_get"
	id, ref, ok := in.identity(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	g, err := id.LookupGroup(ref)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("group %q", ref), err)
		return
	}
	marshalTo(in, stack, op, g)
}

// group_members(ref_ptr, ref_len) -> i32
func hGroupMembers(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "group_members"
	id, ref, ok := in.identity(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	_, out, err := id.GroupWithMembers(ref)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("group %q", ref), err)
		return
	}
	marshalTo(in, stack, op, out)
}

// is_member(user_ptr, user_len, group_ptr, group_len) -> i32 (1 or 0)
func hIsMember(_ *Plugin, _ context.Context, in *instance, stack []uint64) {
	const op = "is_member"
	id, user, ok := in.identity(stack, op, stack[0], stack[1])
	if !ok {
		return
	}
	group, ok := in.readString(stack[2], stack[3])
	if !ok {
		badPointer(in, stack, op)
		return
	}
	m, err := id.IsMember(user, group)
	if err != nil {
		storeFail(in, stack, op, fmt.Sprintf("membership of %q in %q", user, group), err)
		return
	}
	in.pending = in.pending[:0]
	if m {
		stack[0] = 1
	} else {
		stack[0] = 0
	}
}
