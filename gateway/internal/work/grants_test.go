package work

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/store"
)

const grantProvisioningBody = `{"application":{"app_id":"aws","instance_id":"i1","user_friendly_label":"AWS"},
 "permissions":[{"label":"RO","value":"ro","type":"PERMISSION","source":"MANUAL"}],
 "target_user":{"email":"alice.nguyen@example.com","given_name":"Alice","family_name":"Nguyen"},
 "access_length":60,"request_comment":"","request_task_url":"","custom_fields":null}`

// Grants.Record reports a store failure instead of swallowing it.
func TestGrantRecordStoreFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &Grants{st: st}
	req, err := hook.ParseHookRequest([]byte(grantProvisioningBody))
	if err != nil {
		t.Fatal(err)
	}
	gr, err := g.Record(req, []byte(grantProvisioningBody), "p", time.Now())
	if err != nil || gr == nil || gr.State != store.GrantActive {
		t.Fatalf("grant=%+v err=%v", gr, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Record(req, []byte(grantProvisioningBody), "p", time.Now()); err == nil {
		t.Fatal("Record on a closed store succeeded")
	}
}
