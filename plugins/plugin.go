package plugins

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/plugins/internal/interrupt"
	"github.com/hookgate/hookgate/plugins/modlimits"
	"github.com/hookgate/hookgate/sdk/abi"
)

// Plugin is one loaded [[plugin]]: its compiled module, its runtime (which
// carries the memory limit) and its pool of instances. It is safe for
// concurrent use; each instance runs one call at a time and callers beyond
// the pool size wait for a free instance.
type Plugin struct {
	host *Host
	cfg  Config
	caps capSet
	log  *slog.Logger
	http *fasthttp.Client
	// allow is cfg.AllowedHosts parsed (netguard.go).
	allow *allowList

	rt       wazero.Runtime
	compiled wazero.CompiledModule
	// fuel is true when the module was instrumented (plugins/internal/
	// interrupt) and calls are stopped by its yield; false when it could
	// not be, and wazero's close-on-context-done stops them instead.
	fuel bool
	// flat is true when the module exports hookgate_call_flat: inline hook
	// calls with a parsed request then skip the guest's JSON parsing.
	flat bool
	// tablePages is the part of memory_limit reserved for the module's
	// tables (8 bytes per entry they can hold); linear memory gets the
	// rest.
	tablePages uint32

	idle chan *instance // ready instances; capacity PoolSize
	done chan struct{}  // closed by Close

	mu       sync.RWMutex // guards closed against inflight.Add
	closed   bool
	inflight sync.WaitGroup // calls and background replacements

	inUse    atomic.Int64
	waiting  atomic.Int64
	replaced atomic.Uint64
	calls    atomic.Uint64
	failures atomic.Uint64
}

// LogLine is one line a plugin logged during a call: through the log host
// function (Source "log"), on stdout or stderr ("stdout", "stderr", e.g. a
// panic's stack trace), or a host note about the call ("host", e.g. a
// capability refused). Lines also go to the host's slog logger.
type LogLine struct {
	Time    time.Time
	Level   slog.Level
	Source  string
	Message string
}

// Result is what one Call produced. Call returns a non-nil Result even on
// error, so the logs and duration of a failed call can be shown.
type Result struct {
	// Output is the guest's raw output document (a copy).
	Output []byte
	// Decision is Output decoded (zero when the call failed).
	Decision Decision
	// Logs are the lines emitted during this call, in order.
	Logs []LogLine
	// Duration is the wall time of the call, including any wait for a free
	// instance.
	Duration time.Duration

	end time.Time // when the guest returned (zero if it never ran)
}

// Stats is a snapshot of a plugin's pool for metrics.
type Stats struct {
	// PoolSize is the configured number of instances.
	PoolSize int
	// Idle instances are ready; InUse are running a call; the rest are
	// being replaced.
	Idle, InUse int
	// Waiting is the number of callers queued for a free instance.
	Waiting int
	// Replaced counts instances discarded (trap, timeout, memory) and
	// replaced since Load.
	Replaced uint64
	// Calls and Failures count calls since Load (Failures: Call returned an
	// error).
	Calls, Failures uint64
}

// Limits on what one call may log, so a hostile plugin cannot flood the
// gateway's log.
const (
	maxLogLinesPerCall = 200
	maxLogBytesPerCall = 64 << 10
	maxLogLineBytes    = 4 << 10
)

func newPlugin(ctx context.Context, h *Host, cfg Config) (*Plugin, error) {
	cfg = cfg.Or(DefaultConfig())
	where := fmt.Sprintf("plugin %s (%s)", cfg.Name, cfg.Path)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	caps := parseCaps(cfg.Capabilities)
	wasm, err := readModule(cfg.Path, cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	sum, err := modlimits.Check(wasm, cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w%s", where, ErrBadModule, err, notWasmHint(wasm))
	}
	p := &Plugin{
		host: h,
		cfg:  cfg,
		caps: caps,
		log:  h.log.With("plugin", cfg.Name),
		idle: make(chan *instance, cfg.PoolSize),
		done: make(chan struct{}),
	}
	allow, err := parseAllowList(cfg.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	p.allow = allow
	p.http = newHTTPClient(&p.cfg, allow)
	// Calls must stop at their deadline. The instrumented module yields to
	// the host every interrupt.Allowance function entries and loop
	// headers (and bulk instructions by their length), which costs far
	// less than wazero's close-on-context-done (an exit to Go at every
	// loop header); a module the instrumenter cannot rewrite falls back to
	// the latter. The instrumenter also caps the tables' maxima at
	// max_table_entries.
	code := wasm
	tableEntries := uint64(sum.TableEntries)
	out, st, err := instrument(wasm, interrupt.Options{MaxTableEntries: uint32(cfg.Limits.MaxTableEntries)})
	switch {
	case err == nil:
		code, p.fuel, tableEntries = out, true, st.TableEntries
		p.log.Debug("plugin instrumented for interruption", "functions", st.Functions, "loops", st.Loops, "bulk", st.Bulk, "table_entries", st.TableEntries)
	case errors.Is(err, interrupt.ErrTableLimit):
		return nil, fmt.Errorf("%s: %w: %v (max_table_entries is %d)", where, ErrBadModule, err, cfg.Limits.MaxTableEntries)
	default:
		p.log.Warn("plugin could not be instrumented; calls are stopped by wazero's slower context check instead, and bulk memory instructions are not charged", "err", err)
		capped, cerr := interrupt.CapTables(wasm, interrupt.Options{MaxTableEntries: uint32(cfg.Limits.MaxTableEntries)})
		if cerr != nil {
			return nil, fmt.Errorf("%s: %w: tables: %v (max_table_entries is %d)", where, ErrBadModule, cerr, cfg.Limits.MaxTableEntries)
		}
		code = capped
	}
	// Table entries are host memory (8 bytes each) that wazero's memory
	// limit does not see: they are reserved out of memory_limit.
	p.tablePages = uint32((tableEntries*8 + 65535) / 65536)
	if p.tablePages >= cfg.MemoryLimit {
		return nil, fmt.Errorf("%s: %w: its tables can hold %d entries (%d pages of 64 KiB), which leaves nothing of memory_limit (%d pages)", where, ErrBadModule, tableEntries, p.tablePages, cfg.MemoryLimit)
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(h.cache).
		WithMemoryLimitPages(cfg.MemoryLimit - p.tablePages).
		WithCloseOnContextDone(!p.fuel)
	p.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	fail := func(err error) (*Plugin, error) {
		_ = p.rt.Close(context.Background())
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return fail(fmt.Errorf("%s: wasi: %w", where, err))
	}
	if err := p.instantiateHostModule(ctx); err != nil {
		return fail(fmt.Errorf("%s: host module: %w", where, err))
	}
	if p.fuel {
		if err := instantiateYield(ctx, p.rt); err != nil {
			return fail(fmt.Errorf("%s: yield module: %w", where, err))
		}
	}
	mu := h.compileLock(code)
	mu.Lock()
	p.compiled, err = p.rt.CompileModule(ctx, code)
	mu.Unlock()
	if err != nil {
		return fail(fmt.Errorf("%s: %w: compile: %v%s", where, ErrBadModule, err, notWasmHint(wasm)))
	}
	if err := checkModule(p.compiled, p.fuel); err != nil {
		return fail(fmt.Errorf("%s: %w", where, err))
	}
	_, p.flat = p.compiled.ExportedFunctions()[exportCallFlat]

	// The first instance answers the version question before the pool is
	// filled.
	first, err := p.newInstance(ctx)
	if err != nil {
		if hint := commandHint(p.compiled); hint != "" {
			return fail(fmt.Errorf("%s: %w: %s (start-up: %v)", where, ErrBadModule, hint, firstLine(err)))
		}
		return fail(fmt.Errorf("%s: %w: start-up: %v", where, ErrBadModule, err))
	}
	v, err := first.abiVersion(ctx)
	if err != nil {
		if hint := commandHint(p.compiled); hint != "" {
			return fail(fmt.Errorf("%s: %w: %s (%s(): %v)", where, ErrBadModule, hint, exportVersion, firstLine(err)))
		}
		return fail(fmt.Errorf("%s: %w: %s(): %v", where, ErrBadModule, exportVersion, err))
	}
	if v != ABIVersion {
		return fail(fmt.Errorf("%s: %w: the plugin implements ABI version %d, this host supports ABI version %d; rebuild it against a matching sdk", where, ErrABIVersion, v, ABIVersion))
	}
	p.idle <- first

	// Fill the rest of the pool in parallel.
	rest := cfg.PoolSize - 1
	errc := make(chan error, rest)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := 0; i < rest; i++ {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			inst, err := p.newInstance(ctx)
			if err == nil {
				p.idle <- inst
			}
			errc <- err
		}()
	}
	var errs []error
	for i := 0; i < rest; i++ {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fail(fmt.Errorf("%s: filling the pool of %d: %w", where, cfg.PoolSize, errors.Join(errs...)))
	}
	return p, nil
}

// readModule reads a .wasm file, refusing one over max_module_bytes
// before reading it.
func readModule(path string, l modlimits.Limits) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > l.MaxModuleBytes {
		return nil, fmt.Errorf("%w: %w: the module is %d bytes, max_module_bytes is %d", ErrBadModule, modlimits.ErrLimit, st.Size(), l.MaxModuleBytes)
	}
	// Read at most one byte more than the limit, in case the file grew.
	b, err := io.ReadAll(io.LimitReader(f, l.MaxModuleBytes+1))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// buildHint is how a Go plugin is built; the load errors below end with it.
const buildHint = "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm ."

// notWasmHint explains a file that failed to compile because it is not
// WebAssembly at all (typically a native build: GOOS/GOARCH not set).
func notWasmHint(b []byte) string {
	if bytes.HasPrefix(b, []byte("\x00asm")) {
		return ""
	}
	return "; the file is not a WebAssembly module (a native executable? build it with " + buildHint + ")"
}

// commandHint ("" if it does not apply) explains a module that fails at start-up or at its first
// export call because it is a WASI command (exports _start, no
// _initialize): Go built without -buildmode=c-shared never initialises its
// runtime, so every export aborts ("runtime.notInitialized").
func commandHint(cm wazero.CompiledModule) string {
	exports := cm.ExportedFunctions()
	if _, reactor := exports[startFunction]; reactor {
		return ""
	}
	if _, command := exports["_start"]; !command {
		return ""
	}
	return "built as a WASI command (exports _start, not " + startFunction + "), so the Go runtime is never initialised: plugins are reactors, rebuild with -buildmode=c-shared: " + buildHint
}

// firstLine is err's message up to its first newline (wazero appends a
// wasm stack trace that says nothing the hint does not).
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// checkModule verifies the module's exports and imports against ABI v1.
// instrumented says the module went through interrupt.Instrument, which
// adds one import of its own.
func checkModule(cm wazero.CompiledModule, instrumented bool) error {
	exports := cm.ExportedFunctions()
	if _, ok := exports[exportVersion]; !ok {
		return fmt.Errorf("%w: missing export %s (build with -buildmode=c-shared and import github.com/hookgate/hookgate/sdk, or see sdk/ABI.md)", ErrBadModule, exportVersion)
	}
	for name, sig := range exportSigs {
		def, ok := exports[name]
		if !ok {
			return fmt.Errorf("%w: missing export %s", ErrBadModule, name)
		}
		if !sameTypes(def.ParamTypes(), sig.params) || !sameTypes(def.ResultTypes(), sig.results) {
			return fmt.Errorf("%w: export %s has signature %s, ABI v%d wants %s", ErrBadModule, name, sigString(def.ParamTypes(), def.ResultTypes()), ABIVersion, sigString(sig.params, sig.results))
		}
	}
	if def, ok := exports[exportCallFlat]; ok {
		sig := exportSigs[exportCall]
		if !sameTypes(def.ParamTypes(), sig.params) || !sameTypes(def.ResultTypes(), sig.results) {
			return fmt.Errorf("%w: export %s has signature %s, ABI v%d wants %s (as %s)", ErrBadModule, exportCallFlat, sigString(def.ParamTypes(), def.ResultTypes()), ABIVersion, sigString(sig.params, sig.results), exportCall)
		}
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: missing memory export \"memory\"", ErrBadModule)
	}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case wasiModuleName:
			continue
		case interrupt.YieldModule:
			if instrumented && name == interrupt.YieldName {
				continue // added by interrupt.Instrument
			}
			return fmt.Errorf("%w: imports %s.%s; the %q module is reserved for the host", ErrBadModule, mod, name, interrupt.YieldModule)
		case hostModuleName:
			spec, ok := hostFuncSpecs[name]
			if !ok {
				why := "it is not part of ABI v1"
				if r, ok := reservedImports[name]; ok {
					why = r
				}
				return fmt.Errorf("%w: imports %s.%s, which this host does not provide (%s; this host implements ABI version %d)", ErrBadModule, mod, name, why, ABIVersion)
			}
			if !sameTypes(def.ParamTypes(), spec.params) || !sameTypes(def.ResultTypes(), spec.results) {
				return fmt.Errorf("%w: import %s.%s has signature %s, ABI v%d defines %s", ErrBadModule, mod, name, sigString(def.ParamTypes(), def.ResultTypes()), ABIVersion, sigString(spec.params, spec.results))
			}
		default:
			return fmt.Errorf("%w: imports %s.%s from module %q; only %q and %q are provided", ErrBadModule, mod, name, mod, hostModuleName, wasiModuleName)
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sigString(params, results []api.ValueType) string {
	f := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return "(" + f(params) + ") -> (" + f(results) + ")"
}

// Name returns the plugin's configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Stats returns a snapshot of the pool.
func (p *Plugin) Stats() Stats {
	return Stats{
		PoolSize: p.cfg.PoolSize,
		Idle:     len(p.idle),
		InUse:    int(p.inUse.Load()),
		Waiting:  int(p.waiting.Load()),
		Replaced: p.replaced.Load(),
		Calls:    p.calls.Load(),
		Failures: p.failures.Load(),
	}
}

// Close stops accepting calls, fails queued callers with ErrClosed, waits
// for calls in flight and background replacements, and frees the runtime.
// It is safe to call more than once.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	p.inflight.Wait()
	p.host.forget(p)
	p.http.CloseIdleConnections()
	if err := p.rt.Close(context.Background()); err != nil {
		return fmt.Errorf("plugin %s: close: %w", p.cfg.Name, err)
	}
	return nil
}

// Call runs the plugin's handler for kind on input (a JSON document: the
// Lumos request for the hook kinds, the Okta LogEvent for KindOktaEvent) and
// returns its decision. It waits for a free instance as long as ctx allows,
// then runs under the plugin's timeout. Errors wrap one of the Err* values;
// the Result is never nil.
func (p *Plugin) Call(ctx context.Context, kind string, input []byte) (*Result, error) {
	return p.CallInput(ctx, kind, Input{Raw: input})
}

// CallInput is Call with an Input, which may carry the inline hook request
// already parsed (see Input).
func (p *Plugin) CallInput(ctx context.Context, kind string, input Input) (*Result, error) {
	start := time.Now()
	res := &Result{}
	out, err := p.call(ctx, kind, input, res)
	if res.end.IsZero() {
		res.end = time.Now()
	}
	res.Duration = res.end.Sub(start)
	p.calls.Add(1)
	if err != nil {
		p.failures.Add(1)
		return res, fmt.Errorf("plugin %s: %s: %w", p.cfg.Name, kind, err)
	}
	res.Output = out
	if d, ok := parseDecisionFast(out); ok {
		res.Decision = d
		return res, nil
	}
	var w wireOutput
	if err := json.Unmarshal(out, &w); err != nil {
		p.failures.Add(1)
		return res, fmt.Errorf("plugin %s: %s: %w: not JSON: %v", p.cfg.Name, kind, ErrBadOutput, err)
	}
	switch {
	case w.Error != nil && w.Error.Code == abi.GuestNoHandler:
		err = noHandlerError(w.Error.Message)
	case w.Error != nil:
		err = fmt.Errorf("%w (%s): %s", ErrGuest, w.Error.Code, w.Error.Message)
	case w.Success == nil:
		err = fmt.Errorf("%w: no boolean \"success\" field in %.200q", ErrBadOutput, out)
	}
	if err != nil {
		p.failures.Add(1)
		return res, fmt.Errorf("plugin %s: %s: %w", p.cfg.Name, kind, err)
	}
	res.Decision = Decision{Success: *w.Success, Message: w.Message}
	return res, nil
}

func (p *Plugin) call(ctx context.Context, kind string, input Input, res *Result) ([]byte, error) {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil, ErrClosed
	}
	p.inflight.Add(1)
	p.mu.RUnlock()
	defer p.inflight.Done()

	var inst *instance
	select {
	case inst = <-p.idle:
	default:
		p.waiting.Add(1)
		select {
		case inst = <-p.idle:
		case <-ctx.Done():
			p.waiting.Add(-1)
			return nil, ctxErr(ctx, "waiting for a free instance")
		case <-p.done:
			p.waiting.Add(-1)
			return nil, ErrClosed
		}
		p.waiting.Add(-1)
	}
	p.inUse.Add(1)
	defer p.inUse.Add(-1)

	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.Duration)
	if cctx.Err() != nil { // the guest is not started on a dead context
		cancel()
		p.idle <- inst
		return nil, ctxErr(ctx, "before the call")
	}
	out, err := inst.run(cctx, kind, input)
	// The context's timer may not have fired yet at its deadline: compare
	// the clock too.
	dl, _ := cctx.Deadline()
	res.end = time.Now() // also the end of Result.Duration: one clock reading
	late := cctx.Err() != nil || !res.end.Before(dl)
	cancel()
	res.Logs = inst.takeLogs()
	if late && (err == nil || inst.reusable) {
		// The guest returned, but after its deadline (a long host call or
		// bulk instruction just before returning): whatever it returned is
		// a timeout, and the instance, which ran past its budget, is not
		// trusted again.
		_ = inst.mod.Close(context.Background())
		p.replace()
		switch {
		case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("%w: during the call (it returned after being canceled; its result is discarded); instance discarded", ErrCanceled)
		case ctxDeadlineFirst(ctx, dl):
			return nil, fmt.Errorf("%w: caller's deadline passed during the call (it returned after the deadline; its result is discarded); instance discarded", ErrTimeout)
		}
		return nil, fmt.Errorf("%w: exceeded its %s timeout (it returned after the deadline; its result is discarded); instance discarded", ErrTimeout, p.cfg.Timeout.Duration)
	}
	if err == nil || inst.reusable {
		p.idle <- inst
		return out, err
	}
	// The instance is dead or suspect: classify, discard, replace.
	err = p.classify(ctx, cctx, inst, err)
	_ = inst.mod.Close(context.Background())
	p.replace()
	return nil, err
}

// parseDecisionFast decodes the output the Go SDK writes for a decision,
// {"success":B} or {"success":B,"message":"M"} with no escapes in M, without
// encoding/json's reflection; ok is false for anything else, which then
// takes the general path.
func parseDecisionFast(out []byte) (Decision, bool) {
	var d Decision
	switch {
	case bytes.HasPrefix(out, []byte(`{"success":true`)):
		d.Success, out = true, out[len(`{"success":true`):]
	case bytes.HasPrefix(out, []byte(`{"success":false`)):
		out = out[len(`{"success":false`):]
	default:
		return d, false
	}
	if len(out) == 1 && out[0] == '}' {
		return d, true
	}
	const msg = `,"message":"`
	if !bytes.HasPrefix(out, []byte(msg)) || !bytes.HasSuffix(out, []byte(`"}`)) || len(out) < len(msg)+2 {
		return d, false
	}
	m := out[len(msg) : len(out)-2]
	if bytes.IndexByte(m, '\\') >= 0 || bytes.IndexByte(m, '"') >= 0 || !utf8.Valid(m) {
		return d, false
	}
	for _, c := range m {
		if c < 0x20 {
			return d, false
		}
	}
	d.Message = string(m)
	return d, true
}

// ctxDeadlineFirst reports whether ctx's own deadline is the call's
// deadline dl (the caller's came before the plugin's timeout).
func ctxDeadlineFirst(ctx context.Context, dl time.Time) bool {
	cdl, ok := ctx.Deadline()
	return ok && !cdl.After(dl)
}

// ctxErr describes why ctx ended.
func ctxErr(ctx context.Context, doing string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: caller's deadline passed %s", ErrTimeout, doing)
	}
	return fmt.Errorf("%w: %s: %v", ErrCanceled, doing, ctx.Err())
}

// classify maps an error from a guest function to the package's errors.
func (p *Plugin) classify(ctx, cctx context.Context, inst *instance, err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			if ctx.Err() == nil {
				return fmt.Errorf("%w: exceeded its %s timeout; instance discarded", ErrTimeout, p.cfg.Timeout.Duration)
			}
			return fmt.Errorf("%w: caller's deadline passed during the call; instance discarded", ErrTimeout)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w: during the call; instance discarded", ErrCanceled)
		}
	}
	if cctx.Err() != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: exceeded its %s timeout; instance discarded (%v)", ErrTimeout, p.cfg.Timeout.Duration, err)
	}
	if inst.outOfMemory() {
		return fmt.Errorf("%w (%d pages of 64 KiB, %d of them reserved for tables); instance discarded: %v", ErrMemory, p.cfg.MemoryLimit, p.tablePages, err)
	}
	if exit != nil {
		return fmt.Errorf("%w: exited with code %d (see its stderr in the logs); instance discarded", ErrTrap, exit.ExitCode())
	}
	return fmt.Errorf("%w: %v; instance discarded", ErrTrap, err)
}

// replace instantiates a new instance in the background for one that was
// discarded, retrying with backoff until it succeeds or the plugin closes.
func (p *Plugin) replace() {
	p.replaced.Add(1)
	p.inflight.Add(1) // the caller holds an inflight slot, so this cannot race Close's Wait
	go func() {
		defer p.inflight.Done()
		backoff := 50 * time.Millisecond
		for {
			inst, err := p.newInstance(context.Background())
			if err == nil {
				p.idle <- inst
				return
			}
			p.log.Error("plugin instance replacement failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-p.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}()
}

// instrument is interrupt.Instrument; tests replace it to exercise the
// fallback.
var instrument = interrupt.Instrument

// instantiateYield provides the import interrupt.Instrument adds: every
// interrupt.Allowance checks the guest calls it with the call's context;
// it ends the call (the instance is then discarded) once that context is
// done, and otherwise grants the next allowance. Being a call into Go, it
// is also where the scheduler and the garbage collector's stop-the-world
// can reach a goroutine running guest code.
func instantiateYield(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(interrupt.YieldModule).NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
			if err := ctx.Err(); err != nil {
				panic(exitFor(err))
			}
			stack[0] = interrupt.Allowance
		}), nil, []api.ValueType{api.ValueTypeI32}).
		Export(interrupt.YieldName).
		Instantiate(ctx)
	return err
}

// exitFor is the exit error that ends a guest whose context ended with
// err; classify maps it to ErrTimeout or ErrCanceled.
func exitFor(err error) *sys.ExitError {
	if errors.Is(err, context.DeadlineExceeded) {
		return sys.NewExitError(sys.ExitCodeDeadlineExceeded)
	}
	return sys.NewExitError(sys.ExitCodeContextCanceled)
}

// sleep backs WASI's poll_oneoff clock waits for one instance. It never
// sleeps past the current call's deadline and ends the call when its
// context is done, so a sleeping guest is stopped on time; it also sleeps
// at most 10 ms at once, so a guest keeps returning to wasm code where
// wazero's own check (the fallback for modules that are not instrumented)
// can close it.
func (in *instance) sleep(ns int64) {
	d := min(time.Duration(ns), 10*time.Millisecond)
	if ctx := in.callCtx; ctx != nil {
		if err := ctx.Err(); err != nil {
			panic(exitFor(err))
		}
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, time.Until(dl))
		}
	}
	time.Sleep(d)
}

// newInstance instantiates the compiled module with its own stdio capture.
// Instantiation runs _initialize (the Go runtime and the plugin's init
// functions) under a deadline.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{p: p}
	inst.stdout = lineWriter{inst: inst, source: "stdout", level: slog.LevelInfo}
	inst.stderr = lineWriter{inst: inst, source: "stderr", level: slog.LevelWarn}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(startFunction).
		WithStdout(&inst.stdout).
		WithStderr(&inst.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(inst.sleep).
		WithRandSource(rand.Reader)
	limit := max(10*p.cfg.Timeout.Duration, 10*time.Second)
	ictx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	ictx = context.WithValue(ictx, instKey{}, inst)
	inst.callCtx = ictx
	mod, err := p.rt.InstantiateModule(ictx, p.compiled, mc)
	inst.callCtx = nil
	inst.flush()
	inst.takeLogs() // start-up lines went to the host log only
	if err != nil {
		return nil, err
	}
	inst.mod = mod
	inst.mem = mod.Memory()
	inst.version = mod.ExportedFunction(exportVersion)
	inst.alloc = mod.ExportedFunction(exportAlloc)
	inst.callFn = mod.ExportedFunction(exportCall)
	if p.flat {
		inst.callFlat = mod.ExportedFunction(exportCallFlat)
	}
	if inst.mem == nil || inst.alloc == nil || inst.callFn == nil || inst.version == nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("%w: instance lacks memory or hookgate exports", ErrBadModule)
	}
	return inst, nil
}

// instKey is the context key carrying the *instance a host function serves.
type instKey struct{}

// instance is one instantiated module; it runs one call at a time.
type instance struct {
	p                      *Plugin
	mod                    api.Module
	mem                    api.Memory
	version, alloc, callFn api.Function
	callFlat               api.Function // nil unless the module exports it
	stack                  [4]uint64
	scratch                []byte // flat input, built here and copied in

	// pending is the result (or error message) of the last host call,
	// read by result_len/result_read.
	pending []byte
	// reusable is set when a call failed without harming the instance.
	reusable bool
	// callCtx is the context of the call (or start-up) in progress, for
	// host callbacks wazero gives none (nanosleep).
	callCtx context.Context

	// logs of the current call and their budget.
	logs           []LogLine
	logBytes       int
	logDropped     int
	stdout, stderr lineWriter
	oom            bool
}

func (in *instance) abiVersion(ctx context.Context) (int32, error) {
	ctx = context.WithValue(ctx, instKey{}, in)
	if err := in.version.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, err
	}
	return int32(uint32(in.stack[0])), nil
}

// run performs one ABI call: alloc, write kind+input, call, copy output.
// An inline hook request already parsed goes to hookgate_call_flat in the
// flat layout when the module has it.
func (in *instance) run(ctx context.Context, kind string, input Input) ([]byte, error) {
	in.reusable = false
	in.oom = false
	ctx = context.WithValue(ctx, instKey{}, in)
	in.callCtx = ctx
	defer func() { in.callCtx = nil }()
	defer in.clearPending()
	fn, doc := in.callFn, input.Raw
	if in.callFlat != nil && input.Request != nil && abi.IsHookKind(kind) {
		in.scratch = abi.AppendFlatRequest(in.scratch[:0], input.Request)
		fn, doc = in.callFlat, in.scratch
	}
	total := len(kind) + len(doc)
	if total > 1<<30 {
		in.reusable = true
		return nil, fmt.Errorf("%w: input of %d bytes is too large", ErrGuest, total)
	}
	in.stack[0] = uint64(uint32(total))
	if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
		in.flush()
		return nil, err
	}
	ptr := uint32(in.stack[0])
	if !in.mem.WriteString(ptr, kind) || !in.mem.Write(ptr+uint32(len(kind)), doc) {
		in.reusable = true
		return nil, fmt.Errorf("%w: %s(%d) returned pointer %d outside memory (%d bytes)", ErrBadOutput, exportAlloc, total, ptr, in.mem.Size())
	}
	in.stack[0] = uint64(ptr)
	in.stack[1] = uint64(len(kind))
	in.stack[2] = uint64(ptr + uint32(len(kind)))
	in.stack[3] = uint64(len(doc))
	err := fn.CallWithStack(ctx, in.stack[:])
	in.flush()
	if err != nil {
		return nil, err
	}
	outPtr, outLen := uint32(in.stack[0]>>32), uint32(in.stack[0])
	if int64(outLen) > int64(in.p.cfg.MaxOutputBytes) {
		in.reusable = true
		return nil, fmt.Errorf("%w: %d bytes, max_output_bytes is %d", ErrOutputTooLarge, outLen, in.p.cfg.MaxOutputBytes)
	}
	view, ok := in.mem.Read(outPtr, outLen)
	if !ok {
		in.reusable = true
		return nil, fmt.Errorf("%w: output (%d, %d) is outside memory (%d bytes)", ErrBadOutput, outPtr, outLen, in.mem.Size())
	}
	return append([]byte(nil), view...), nil
}

func (in *instance) clearPending() {
	if cap(in.scratch) > 64<<10 {
		in.scratch = nil
	}
	if cap(in.pending) > 64<<10 {
		in.pending = nil
	} else {
		in.pending = in.pending[:0]
	}
}

// outOfMemory reports whether the last failure looks like the memory limit:
// the guest said so on stderr (the Go runtime does), or its memory is
// within 4 MiB of the limit.
func (in *instance) outOfMemory() bool {
	if in.oom {
		return true
	}
	limit := uint64(in.p.cfg.MemoryLimit-in.p.tablePages) * 65536
	return uint64(in.mem.Size())+4<<20 >= limit
}

// takeLogs hands the current call's log lines to the caller.
func (in *instance) takeLogs() []LogLine {
	l := in.logs
	in.logs = nil
	in.logBytes = 0
	if in.logDropped > 0 {
		l = append(l, LogLine{Time: time.Now(), Level: slog.LevelWarn, Source: "host", Message: fmt.Sprintf("%d more log lines dropped (limit %d lines, %d bytes per call)", in.logDropped, maxLogLinesPerCall, maxLogBytesPerCall)})
		in.p.log.Warn("plugin log output truncated", "dropped_lines", in.logDropped)
		in.logDropped = 0
	}
	return l
}

// emit records one log line for the current call and the host logger,
// within the per-call budget.
//
// Debug lines are dropped before they count against the budget unless the
// plugin's logger is enabled at debug level (the gateway at log level
// debug, or `hookgate plugin test`), so verbose debug logging never crowds
// out a call's info and error lines in production.
func (in *instance) emit(level slog.Level, source, msg string) {
	if level < slog.LevelInfo && !in.p.log.Enabled(context.Background(), level) {
		return
	}
	if len(msg) > maxLogLineBytes {
		msg = msg[:maxLogLineBytes] + "…(truncated)"
	}
	if len(in.logs) >= maxLogLinesPerCall || in.logBytes+len(msg) > maxLogBytesPerCall {
		in.logDropped++
		return
	}
	in.logBytes += len(msg)
	in.logs = append(in.logs, LogLine{Time: time.Now(), Level: level, Source: source, Message: msg})
	in.p.log.Log(context.Background(), level, msg, "source", source)
}

// flush emits partial stdout/stderr lines at the end of a call.
func (in *instance) flush() {
	in.stdout.flush()
	in.stderr.flush()
}

// lineWriter turns a guest's stdout or stderr into log lines.
type lineWriter struct {
	inst   *instance
	source string
	level  slog.Level
	buf    []byte
}

// Write buffers p and emits every complete line.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(w.buf) < maxLogLineBytes {
				w.buf = append(w.buf, p[:min(len(p), maxLogLineBytes-len(w.buf))]...)
			}
			break
		}
		if len(w.buf) < maxLogLineBytes {
			w.buf = append(w.buf, p[:min(i, maxLogLineBytes-len(w.buf))]...)
		}
		w.line()
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) line() {
	s := string(w.buf)
	w.buf = w.buf[:0]
	if w.source == "stderr" && strings.Contains(s, "out of memory") {
		w.inst.oom = true
	}
	w.inst.emit(w.level, w.source, s)
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.line()
	}
}
