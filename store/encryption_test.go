package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secretLogin = "zelda.quartermain@example.com"

// secretNeedle is the part of the login the grep looks for: Badger's
// Snappy block compression may turn the second half of a repeated string
// into a back reference, so the whole login is not always there verbatim
// even without encryption, but this part is (the control checks it).
const secretNeedle = "quartermain"

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// writeKnownUser writes a user with a login that must not appear in
// plaintext on disk, and closes the store. It returns the files holding
// the login while the store was still open (the write-ahead log).
func writeKnownUser(t *testing.T, dir string, key []byte) (openHits []string) {
	t.Helper()
	s, err := Open(dir, Options{EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, func(tx *writeTx) error {
		return tx.TouchUser(UserFacts{ID: "00uzelda", Login: secretLogin, Email: secretLogin, DisplayName: "Zelda Quartermain"}, st(1))
	})
	openHits = grepDir(t, dir, secretNeedle)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openHits
}

// dirDigest hashes every file in dir (but Badger's LOCK, which an open
// creates and a close removes).
func dirDigest(t *testing.T, dir string) map[string][32]byte {
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

func sameDigest(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// grepDir reports the files under dir holding needle.
func grepDir(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(needle)) {
			hits = append(hits, filepath.Base(p))
		}
		return nil
	})
	return hits
}

func TestEncryptedStoreHasNoPlaintext(t *testing.T) {
	plain, enc := t.TempDir(), t.TempDir()
	if hits := writeKnownUser(t, plain, nil); len(hits) == 0 {
		t.Fatalf("control: login not in the open unencrypted store's write-ahead log")
	}
	if hits := writeKnownUser(t, enc, testKey(7)); len(hits) != 0 {
		t.Fatalf("login part %q in plaintext in the open encrypted store's files %v", secretNeedle, hits)
	}
	// The control: without encryption the login is on disk, so the grep
	// below can find it.
	if hits := grepDir(t, plain, secretNeedle); len(hits) == 0 {
		t.Fatalf("control: login not found in the unencrypted store's files; the grep is broken")
	}
	if hits := grepDir(t, enc, secretNeedle); len(hits) != 0 {
		t.Fatalf("login part %q in plaintext in the encrypted store's files %v", secretLogin, hits)
	}
	// Reopened with the key, the data is there.
	s, err := Open(enc, Options{EncryptionKey: testKey(7)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if u := mustUser(t, s, secretLogin); u.ID != "00uzelda" {
		t.Fatalf("user = %+v", u)
	}
}

func TestEncryptedStoreRefusesWrongOrMissingKey(t *testing.T) {
	enc := t.TempDir()
	writeKnownUser(t, enc, testKey(7))
	plain := t.TempDir()
	writeKnownUser(t, plain, nil)
	for _, c := range []struct {
		name, dir string
		key       []byte
		want      string
	}{
		{"no key", enc, nil, "no key was given"},
		{"wrong key", enc, testKey(8), "different encryption key"},
		{"key on a plaintext store", plain, testKey(7), "without encryption"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := dirDigest(t, c.dir)
			s, err := Open(c.dir, Options{EncryptionKey: c.key})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrEncryptionKey) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrEncryptionKey saying %q", err, c.want)
			}
			if after := dirDigest(t, c.dir); !sameDigest(before, after) {
				t.Fatalf("the failed open changed the data directory")
			}
		})
	}
	// And the right key still opens it.
	s, err := Open(enc, Options{EncryptionKey: testKey(7)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustUser(t, s, secretLogin)
}

func TestEncryptionKeyLength(t *testing.T) {
	_, err := Open(t.TempDir(), Options{EncryptionKey: []byte("short")})
	if err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Fatalf("err = %v", err)
	}
}

func TestRotateEncryptionKey(t *testing.T) {
	dir := t.TempDir()
	writeKnownUser(t, dir, testKey(7))
	if err := RotateEncryptionKey(dir, testKey(9), testKey(8)); !errors.Is(err, ErrEncryptionKey) {
		t.Fatalf("rotate with a wrong old key: %v", err)
	}
	if err := RotateEncryptionKey(dir, testKey(7), testKey(8)); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, Options{EncryptionKey: testKey(7)}); err == nil {
		s.Close()
		t.Fatal("the old key still opens the store")
	}
	s, err := Open(dir, Options{EncryptionKey: testKey(8)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustUser(t, s, secretLogin)
}
