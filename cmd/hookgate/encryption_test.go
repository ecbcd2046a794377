package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	storeKeyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	storeKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
	// knownLogin is unusual enough that finding it (or its distinctive
	// part, knownNeedle) in a file means the file holds it in plaintext.
	knownLogin  = "xiomara.vantablack@example.com"
	knownNeedle = "vantablack"
)

// knownUserEnvelope is an Okta event hook delivery creating the user.
func knownUserEnvelope() []byte {
	ev := map[string]any{
		"uuid": "e2c7d6f0-0000-4000-8000-00000000c0de", "published": "2026-03-03T09:00:00.000Z",
		"eventType": "user.lifecycle.create", "version": "0", "severity": "INFO",
		"displayMessage": "Create okta user", "outcome": map[string]any{"result": "SUCCESS"},
		"actor":  map[string]any{"id": "00uadmin", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin"},
		"target": []any{map[string]any{"id": "00uxiomara", "type": "User", "alternateId": knownLogin, "displayName": "Xiomara Vantablack"}},
	}
	b, _ := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"eventId": "enc-test-1", "eventTime": "2026-03-03T09:00:01.000Z", "contentType": "application/json",
		"data": map[string]any{"events": []any{ev}},
	})
	return b
}

func digestDir(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func filesHolding(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(needle)) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

// TestServeEncryptedStore: a store written by `hookgate serve` with
// [store] encryption_key_env holds no plaintext login; started again without
// the key or with another key, serve refuses with an error naming the
// problem and changes nothing in the data directory; with the right key the
// data is there.
func TestServeEncryptedStore(t *testing.T) {
	withKey := writeConfig(t, "[store]\nencryption_key_env = \"HOOKGATE_STORE_KEY\"\n")
	withoutKey := writeConfig(t, "")
	data := filepath.Join(t.TempDir(), "data")

	p := startServe(t, withKey, data, "HOOKGATE_STORE_KEY="+storeKeyA)
	req, _ := http.NewRequest("POST", p.url+"/events/okta", bytes.NewReader(knownUserEnvelope()))
	req.Header.Set("Authorization", oktaSecret)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("event hook answered %d", resp.StatusCode)
	}
	if hits := filesHolding(t, data, knownNeedle); len(hits) != 0 {
		t.Fatalf("while serving, %q is in plaintext in %v", knownNeedle, hits)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.log())
	}
	if hits := filesHolding(t, data, knownNeedle); len(hits) != 0 {
		t.Fatalf("after shutdown, %q is in plaintext in %v", knownNeedle, hits)
	}

	before := digestDir(t, data)
	for _, c := range []struct {
		name string
		cfg  string
		env  []string
		want []string
	}{
		{"no key configured", withoutKey, nil, []string{"encrypted", "no key was given", "encryption_key_env", "nothing was changed"}},
		{"key variable unset", withKey, nil, []string{"store.encryption_key_env", "HOOKGATE_STORE_KEY is not set"}},
		{"wrong key", withKey, []string{"HOOKGATE_STORE_KEY=" + storeKeyB}, []string{"different encryption key", "nothing was changed"}},
		{"malformed key", withKey, []string{"HOOKGATE_STORE_KEY=not-a-key"}, []string{"store.encryption_key_env", "64 hex digits"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(binPath, "serve", "--config", c.cfg, "--listen", "127.0.0.1:0", "--data", data)
			cmd.Env = env(append(append([]string(nil), secrets...), c.env...)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute): // hang guard
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("serve did not refuse; output:\n%s", out)
			}
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("serve: err %v, want exit status 1; output:\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			after := digestDir(t, data)
			if len(after) != len(before) {
				t.Fatalf("files changed: %d before, %d after", len(before), len(after))
			}
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("%s was changed by the refused start", k)
				}
			}
		})
	}

	// The CLI reads it with the key, and refuses without.
	cmd := exec.Command(binPath, "users", "get", knownLogin, "--data", data, "--key-env", "HOOKGATE_STORE_KEY")
	cmd.Env = env("HOOKGATE_STORE_KEY=" + storeKeyA)
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "00uxiomara") {
		t.Fatalf("users get with the key: %v\n%s", err, out)
	}
	cmd = exec.Command(binPath, "users", "get", knownLogin, "--data", data)
	cmd.Env = env()
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--key-env") {
		t.Fatalf("users get without the key: %v\n%s", err, out)
	}

	// Master key rotation: afterwards only the new key opens the store.
	cmd = exec.Command(binPath, "store", "rotate-key", "--data", data, "--old-key-env", "OLD_KEY", "--new-key-env", "NEW_KEY")
	cmd.Env = env("OLD_KEY="+storeKeyA, "NEW_KEY="+storeKeyB)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("store rotate-key: %v\n%s", err, out)
	}
	for key, ok := range map[string]bool{storeKeyA: false, storeKeyB: true} {
		cmd = exec.Command(binPath, "users", "get", knownLogin, "--data", data, "--key-env", "K")
		cmd.Env = env("K=" + key)
		out, err = cmd.CombinedOutput()
		if (err == nil) != ok {
			t.Fatalf("after rotation, key %s…: err %v\n%s", key[:4], err, out)
		}
	}
}
