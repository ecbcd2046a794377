package main

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestABI10PluginStillLoads runs the oncall example as built against the
// ABI 1.0 sdk (testdata/abi-1.0, checked in) on this host: same decisions
// on the Lumos fixtures as the current build.
func TestABI10PluginStillLoads(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "oncall-preapproval.wasm")
	gunzip(t, "testdata/abi-1.0/oncall-preapproval.wasm.gz", wasm)
	fixtures := "../../../shared/fixtures"
	for _, c := range []struct{ payload, want string }{
		{"pre_approval.json", `{"response":"APPROVED","message":"alice.nguyen@example.com is on call (oncall-engineers)"}`},
		{"pre_approval_not_oncall.json", `{"response":"NOT_APPROVED","message":"bob.okafor@example.com is not in oncall-engineers; normal approval applies"}`},
	} {
		cmd := exec.Command(binPath, "plugin", "test", "--plugin", wasm, "--kind", "pre_approval",
			"--payload", fixtures+"/lumos/"+c.payload, "--config", "group=oncall-engineers",
			"--identity", fixtures+"/okta/batch.json")
		cmd.Env = append(env(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %v, want %s in:\n%s", c.payload, err, c.want, out)
		}
	}
}

func gunzip(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
