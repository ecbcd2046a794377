package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/store"
)

// /v1/queue and /v1/dlq answer the whole list without ?limit= or ?after=,
// and a page with a Link to the next one with them; a bad limit is a 400.
func TestQueueListsWholeAndPaged(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		if err := st.Enqueue(&store.QueueItem{Kind: "okta_event", Key: u, Ref: "ev-" + u, Plugin: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	claimed, _, err := st.ClaimDue(time.Now(), 2, "test", time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %d items, %v", len(claimed), err)
	}
	for _, it := range claimed {
		if err := st.DeadLetterQueueItem(it.ID, "test", "boom", nil); err != nil {
			t.Fatal(err)
		}
	}
	q := NewQueue(st, nil, nil)
	get := func(h Handler, uri string) (int, []api.QueueItem, string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(uri)
		h(&ctx, nil)
		var out []api.QueueItem
		if ctx.Response.StatusCode() == 200 {
			if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil {
				t.Fatalf("%s: %v: %s", uri, err, ctx.Response.Body())
			}
		}
		return ctx.Response.StatusCode(), out, string(ctx.Response.Header.Peek("Link"))
	}
	for _, c := range []struct {
		h    Handler
		uri  string
		n    int
		link bool
		dead bool
	}{
		{q.ListQueue, "/v1/queue", 3, false, false},
		{q.ListQueue, "/v1/queue?limit=2", 2, true, false},
		{q.ListDeadLetters, "/v1/dlq", 2, false, true},
		{q.ListDeadLetters, "/v1/dlq?limit=1", 1, true, true},
	} {
		code, items, link := get(c.h, c.uri)
		if code != 200 || len(items) != c.n || (link != "") != c.link {
			t.Errorf("%s: %d, %d items, Link %q; want 200, %d items, link %v", c.uri, code, len(items), link, c.n, c.link)
			continue
		}
		for _, it := range items {
			if (it.DeadAt != nil) != c.dead || it.Payload != nil {
				t.Errorf("%s: item %+v", c.uri, it)
			}
		}
		if c.link {
			after := link[strings.Index(link, "after=")+len("after=") : strings.Index(link, ">")]
			_, rest, _ := get(c.h, strings.SplitN(c.uri, "?", 2)[0]+"?limit=10&after="+after)
			if len(rest)+c.n != map[bool]int{false: 3, true: 2}[c.dead] || rest[0].ID == items[len(items)-1].ID {
				t.Errorf("%s: the next page has %d items", c.uri, len(rest))
			}
		}
	}
	if code, _, _ := get(q.ListQueue, "/v1/queue?limit=nope"); code != 400 {
		t.Errorf("bad limit: %d, want 400", code)
	}
}
