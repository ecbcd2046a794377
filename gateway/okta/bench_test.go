package okta_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/gateway/okta/oktagen"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store"
)

// dirBytes sums the sizes of the store's data files under dir (tables and
// value logs; not Badger's fixed-size DISCARD, KEYREGISTRY and MANIFEST
// bookkeeping).
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(d.Name()); ext != ".sst" && ext != ".vlog" {
			return nil
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// benchOrg is a stand-in org of users with ten profile attributes each
// (four custom), groups with members, and a few admins.
func benchOrg(b *testing.B, users, groups int) *oktatest.Server {
	srv := oktatest.New(oktatest.Options{APIToken: testToken, RateLimit: 1 << 30})
	b.Cleanup(srv.Close)
	for _, a := range []oktatest.SchemaAttr{{Name: "isContractor", Type: "boolean"}, {Name: "clearance", Type: "integer"},
		{Name: "projects", Type: "array", ItemsType: "string"}, {Name: "badge", Type: "string"}} {
		srv.AddSchemaAttr(a)
	}
	deps := []string{"Engineering", "Sales", "Finance", "Legal", "Support"}
	for i := 0; i < users; i++ {
		u := oktatest.User{ID: oktagen.UserID(i), Login: oktagen.Login(i), FirstName: "First" + strconv.Itoa(i), LastName: "Last" + strconv.Itoa(i),
			Attrs: map[string]any{"department": deps[i%len(deps)], "title": "Title " + strconv.Itoa(i%40), "employeeType": "Employee",
				"costCenter": "CC-" + strconv.Itoa(100+i%30), "manager": "Manager " + strconv.Itoa(i%50), "division": "Division " + strconv.Itoa(i%7),
				"isContractor": i%9 == 0, "clearance": i % 5, "projects": []string{"p" + strconv.Itoa(i%11), "p" + strconv.Itoa(i%13)},
				"badge": "B" + strconv.Itoa(100000+i)}}
		if i%100 == 0 {
			u.Roles = []oktatest.Role{{ID: "ra" + strconv.Itoa(i), Type: "APP_ADMIN", Label: "Application Administrator"}}
		}
		srv.AddUser(u)
	}
	for g := 0; g < groups; g++ {
		gid := oktagen.GroupID(g)
		srv.AddGroup(oktatest.Group{ID: gid, Name: "group-" + strconv.Itoa(g)})
		for i := g; i < users; i += groups / 2 {
			srv.AddMember(gid, oktagen.UserID(i))
		}
	}
	return srv
}

// BenchmarkSyncProfiles syncs the same stand-in org (2000 users with ten
// profile attributes, 40 groups, 4000 memberships, 20 admins) into a fresh
// store without profiles (SkipProfiles: the fixed fields hookgate kept
// before) and with them (schema, every attribute, types, timestamps, admin
// roles, group profiles), alternating, and prints time and bytes stored
// for both with the ratio. Run with -benchtime=1x.
func BenchmarkSyncProfiles(b *testing.B) {
	srv := benchOrg(b, 2000, 40)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := func(skip bool) (time.Duration, int64) {
		dir := b.TempDir()
		st, err := store.Open(dir, store.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		c, err := okta.NewClient(okta.ClientConfig{OrgURL: srv.URL, APIToken: testToken, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err := okta.Sync(context.Background(), c, st, okta.SyncOptions{SkipProfiles: skip, Logger: quiet})
		d := time.Since(start)
		if err != nil || sum.Users != 2000 {
			b.Fatalf("sync: %v %+v", err, sum)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		return d, dirBytes(b, dir)
	}
	for i := 0; i < b.N; i++ {
		var tOff, tOn time.Duration
		var bOff, bOn int64
		const rounds = 4
		run(false) // warm the stand-in and the client's connections
		for r := 0; r < rounds; r++ {
			// Alternate which goes first, so a loaded machine's drift
			// falls on both.
			for _, skip := range []bool{r%2 == 0, r%2 != 0} {
				d, n := run(skip)
				if skip {
					tOff, bOff = tOff+d, n
				} else {
					tOn, bOn = tOn+d, n
				}
			}
		}
		tOff, tOn = tOff/rounds, tOn/rounds
		fmt.Printf("\nsync of the stand-in org (2000 users x 10 attributes, 40 groups, 4000 memberships, 20 admins), mean of %d:\n", rounds)
		fmt.Printf("  without profiles: %v, %d bytes stored (tables + value log)\n", tOff.Round(time.Millisecond), bOff)
		fmt.Printf("  with profiles:    %v, %d bytes stored (tables + value log)\n", tOn.Round(time.Millisecond), bOn)
		fmt.Printf("  ratio with/without: time %.2f, bytes %.2f\n", float64(tOn)/float64(tOff), float64(bOn)/float64(bOff))
		if la, err := os.ReadFile("/proc/loadavg"); err == nil {
			fmt.Printf("  load average %s", la)
		}
		b.ReportMetric(float64(tOn)/float64(tOff), "time-ratio")
		b.ReportMetric(float64(bOn)/float64(bOff), "bytes-ratio")
	}
}

// processCPU is the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestEncryption ingests the same event batches (50
// membership events each, 8 concurrent ingesters, every batch one synced
// commit) into an unencrypted and an encrypted store, alternating, and
// prints events/s for both with the ratio. Run with -benchtime=1x.
func BenchmarkIngestEncryption(b *testing.B) {
	const (
		ingesters = 8
		batches   = 40 // per ingester
		perBatch  = 50
	)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mk := func(round int) [][]*okta.Batch {
		out := make([][]*okta.Batch, ingesters)
		for s := range out {
			for k := 0; k < batches; k++ {
				evs := make([]oktagen.Event, perBatch)
				for i := range evs {
					n := (s*batches+k)*perBatch + i
					evs[i] = oktagen.MembershipAdd(oktagen.UUID(round, n),
						time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC).Add(time.Duration(n)*time.Millisecond), n, s*10+i%10)
				}
				bt, err := okta.ParseEnvelope(oktagen.Envelope("enc-"+strconv.Itoa(s)+"-"+strconv.Itoa(k), evs...))
				if err != nil {
					b.Fatal(err)
				}
				out[s] = append(out[s], bt)
			}
		}
		return out
	}
	run := func(key []byte, round int) (rate, cpuPerEvent float64) {
		work := mk(round)
		st, err := store.Open(b.TempDir(), store.Options{Logger: quiet, EncryptionKey: key})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		var wg sync.WaitGroup
		start, c0 := time.Now(), processCPU()
		for s := 0; s < ingesters; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, bt := range work[s] {
					if _, err := okta.Ingest(st, bt, okta.IngestOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		events := float64(ingesters * batches * perBatch)
		return events / time.Since(start).Seconds(), float64((processCPU() - c0).Nanoseconds()) / events
	}
	key := bytes.Repeat([]byte{7}, 32)
	for i := 0; i < b.N; i++ {
		var off, on, offCPU, onCPU float64
		const rounds = 4
		for r := 0; r < rounds; r++ {
			var r1, c1, r2, c2 float64
			if r%2 == 0 { // alternate which goes first
				r1, c1 = run(nil, 2*r)
				r2, c2 = run(key, 2*r+1)
			} else {
				r2, c2 = run(key, 2*r+1)
				r1, c1 = run(nil, 2*r)
			}
			off, offCPU, on, onCPU = off+r1, offCPU+c1, on+r2, onCPU+c2
		}
		off, on, offCPU, onCPU = off/rounds, on/rounds, offCPU/rounds, onCPU/rounds
		fmt.Printf("\ningest (%d ingesters x %d batches of %d events, synced commits), mean of %d:\n", ingesters, batches, perBatch, rounds)
		fmt.Printf("  unencrypted %.0f events/s (process CPU %.1f µs/event)\n  encrypted   %.0f events/s (process CPU %.1f µs/event)\n",
			off, offCPU/1e3, on, onCPU/1e3)
		fmt.Printf("  ratio encrypted/unencrypted: throughput %.2f, CPU per event %.2f\n", on/off, onCPU/offCPU)
		if la, err := os.ReadFile("/proc/loadavg"); err == nil {
			fmt.Printf("  load average %s", la)
		}
		b.ReportMetric(on/off, "enc-ratio")
	}
}
