package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hookgate/hookgate"

// pkg is what `go list -json` says about one package.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
	Standard     bool
}

// list runs `go list -json` with args in the module root (env added).
func list(t *testing.T, env []string, args ...string) []pkg {
	t.Helper()
	// The go command that runs this test sets GOROOT for its children.
	gobin := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		gobin = filepath.Join(root, "bin", "go")
	}
	cmd := exec.Command(gobin, append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v listed nothing", args)
	}
	return pkgs
}

// under reports whether path is dir or inside it (dir relative to the module).
func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// TestImportRules enforces the layout's one-way imports:
//   - only store/ imports Badger (everything else changes state through
//     the store's operations);
//   - nothing below the gateway's root (plugins/, gateway/okta/,
//     gateway/hook/, gateway/internal/, gateway/api/, store/, sdk/,
//     internal/; tests included) imports or depends on gateway/config:
//     each package owns its option structs and their defaults and checks
//     (plugins.Config, okta.Options, hook.Route, hook.DispatcherOptions,
//     work.QueueOptions, oktaapi.Options), gateway/config decodes the file
//     into them and the composition root (package gateway: build.go,
//     generation.go) hands them over;
//   - sdk/ (every package in it, for any platform, tests included)
//     depends on the standard library and sdk/ alone, so a plugin build
//     never pulls wazero, fasthttp or Badger.
func TestImportRules(t *testing.T) {
	const badger = "github.com/dgraph-io/badger/v4"
	const config = module + "/gateway/config"
	below := []string{"plugins", "gateway/okta", "gateway/hook", "gateway/internal", "gateway/api", "store", "sdk", "internal"}
	for _, p := range list(t, nil, "./...") {
		imports := append(append(append([]string{}, p.Imports...), p.TestImports...), p.XTestImports...)
		for _, imp := range imports {
			if (imp == badger || strings.HasPrefix(imp, badger+"/")) && !under(p.ImportPath, "store") {
				t.Errorf("%s imports %s: only store/ may (use the store's operations, store/ops.go)", p.ImportPath, imp)
			}
		}
		if !slices.ContainsFunc(below, func(dir string) bool { return under(p.ImportPath, dir) }) {
			continue
		}
		for _, imp := range append(imports, p.Deps...) {
			if under(imp, "gateway/config") {
				t.Errorf("%s depends on %s: packages below gateway own their config (an option struct with Default…() and Validate()); only gateway/config reads the file", p.ImportPath, config)
				break
			}
		}
	}
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		for _, p := range list(t, env, "-deps", "-test", "./sdk/...") {
			// Test variants are named "pkg [pkg.test]" and "pkg.test".
			path := strings.TrimSuffix(strings.Fields(p.ImportPath)[0], ".test")
			if p.Standard || under(path, "sdk") {
				continue
			}
			t.Errorf("sdk depends on %s (%v): sdk/ must import only the standard library", p.ImportPath, env)
		}
	}
}
