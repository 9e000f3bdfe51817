package store_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/store"
)

// auditStore writes n audit entries, closes the store and returns its path.
func auditStore(t testing.TB, n int) (string, store.Options) {
	t.Helper()
	clk := newClock()
	path, opt := dbPath(t), testOptions(clk.Now)
	s := mustOpen(t, path, opt)
	for i := 1; i <= n; i++ {
		clk.Add(time.Second)
		if err := s.Audit("tech-01", "maintenance.retry", fmt.Sprintf("voucher 01234-%06d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, opt
}

// tamper edits the file as a technician with root could, with bbolt.
func tamper(t *testing.T, path string, fn func(audit, meta *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte("audit")), tx.Bucket([]byte("meta"))) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func verify(t *testing.T, path string, opt store.Options) store.AuditCheck {
	t.Helper()
	s := mustOpen(t, path, opt)
	defer s.Close()
	c, err := s.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuditChainIntact(t *testing.T) {
	path, opt := auditStore(t, 10)
	c := verify(t, path, opt)
	if c.Break != nil || c.Entries != 10 || c.Length != 10 {
		t.Fatalf("untouched chain: %+v, break %v", c, c.Break)
	}
	s := mustOpen(t, path, opt)
	defer s.Close()
	h, err := s.AuditHead()
	if err != nil || h.Length != 10 || h.Head != c.Head {
		t.Fatalf("head %+v (%v), verified head %s", h, err, c.Head)
	}
}

func TestAuditChainTampering(t *testing.T) {
	for _, c := range []struct {
		name    string
		edit    func(audit, meta *bolt.Bucket) error
		seq     uint64
		message string
	}{
		{"edit one entry", func(a, _ *bolt.Bucket) error {
			return a.Put(key(5), bytes.Replace(a.Get(key(5)), []byte("maintenance.retry"), []byte("maintenance.login"), 1))
		}, 5, "changed"},
		{"edit one entry and its hash", func(a, _ *bolt.Bucket) error {
			// Rewrite entry 5 as the store would have, hash included: the
			// next entry's link still names the old one.
			var rec map[string]any
			json.Unmarshal(a.Get(key(5)), &rec)
			rec["detail"] = "nothing happened"
			return rewrite(a, 5, rec)
		}, 6, "does not follow entry 5"},
		{"delete the last three", func(a, _ *bolt.Bucket) error {
			for i := uint64(8); i <= 10; i++ {
				if err := a.Delete(key(i)); err != nil {
					return err
				}
			}
			return nil
		}, 8, "entries 8 to 10 were removed"},
		{"delete one in the middle", func(a, _ *bolt.Bucket) error { return a.Delete(key(4)) }, 4, "missing"},
		{"reorder two", func(a, _ *bolt.Bucket) error {
			v3, v7 := bytes.Clone(a.Get(key(3))), bytes.Clone(a.Get(key(7)))
			if err := a.Put(key(3), v7); err != nil {
				return err
			}
			return a.Put(key(7), v3)
		}, 3, "changed or moved"},
		{"edit the last entry", func(a, _ *bolt.Bucket) error {
			var rec map[string]any
			json.Unmarshal(a.Get(key(10)), &rec)
			rec["who"] = "nobody"
			return rewrite(a, 10, rec)
		}, 10, "recorded head"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, opt := auditStore(t, 10)
			tamper(t, path, c.edit)
			got := verify(t, path, opt)
			if got.Break == nil {
				t.Fatalf("tampered chain verified: %+v", got)
			}
			if got.Break.Seq != c.seq || !strings.Contains(got.Break.Error(), c.message) {
				t.Fatalf("break %q at %d, want entry %d saying %q", got.Break, got.Break.Seq, c.seq, c.message)
			}
		})
	}
}

// rewrite stores rec as entry seq with a hash recomputed as the store
// computes it, by appending it to a scratch store and copying the result.
func rewrite(a *bolt.Bucket, seq uint64, rec map[string]any) error {
	h, err := store.AuditHashForTest(seq, rec)
	if err != nil {
		return err
	}
	rec["hash"] = h
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return a.Put(key(seq), data)
}

func TestAuditCentralCatchesACleanTruncation(t *testing.T) {
	path, opt := auditStore(t, 10)
	s := mustOpen(t, path, opt)
	seen, _ := s.AuditHead()
	seen.At = time.Now()
	s.Close()
	// Remove the last three and make the store's own records agree.
	tamper(t, path, func(a, m *bolt.Bucket) error {
		var rec struct{ Hash string }
		json.Unmarshal(a.Get(key(7)), &rec)
		for i := uint64(8); i <= 10; i++ {
			a.Delete(key(i))
		}
		if err := a.SetSequence(7); err != nil {
			return err
		}
		head := make([]byte, 32)
		fmt.Sscanf(rec.Hash, "%x", &head)
		return m.Put([]byte("audit_head"), append(key(7), head...))
	})
	c := verify(t, path, opt)
	if c.Break != nil || c.Length != 7 {
		t.Fatalf("the local chain should look whole after a clean truncation: %+v %v", c, c.Break)
	}
	b := c.CompareHeads([]store.AuditHead{seen})
	if b == nil || b.Seq != 8 || !strings.Contains(b.Error(), "central saw 10 entries") {
		t.Fatalf("against central's head: %v", b)
	}
	// The untouched chain agrees with central.
	path2, opt2 := auditStore(t, 10)
	s2 := mustOpen(t, path2, opt2)
	h2, _ := s2.AuditHead()
	s2.Close()
	if b := verify(t, path2, opt2).CompareHeads([]store.AuditHead{h2}); b != nil {
		t.Fatalf("untouched chain against its own head: %v", b)
	}
}

// Purging personal data after retention leaves the audit chain whole, and
// no audit entry holds the personal data of the operation.
func TestPurgeKeepsTheAuditChain(t *testing.T) {
	clk := newClock()
	path, opt := dbPath(t), testOptions(clk.Now)
	s := mustOpen(t, path, opt)
	op := enqueue(t, s, "report_loss", personalJSON(t, 0))
	if err := s.Audit("tech-01", "maintenance.retry", "voucher "+op.Voucher); err != nil {
		t.Fatal(err)
	}
	if err := s.Acknowledge(op.Key, "C-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit("tech-01", "maintenance.logout", ""); err != nil {
		t.Fatal(err)
	}
	before, _ := s.VerifyAudit()
	clk.Add(opt.Retention + time.Hour)
	if n, err := s.Purge(); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	after, err := s.VerifyAudit()
	if err != nil || after.Break != nil || after.Head != before.Head || after.Entries < 2 {
		t.Fatalf("after purge: %+v %v (before: head %s)", after, after.Break, before.Head)
	}
	log, _ := s.AuditLog(100)
	for _, e := range log {
		for _, p := range []string{subjectNameCN, subjectID, cardNumber, subjectNameVN} {
			if strings.Contains(e.Who+e.Action+e.Detail, p) {
				t.Fatalf("audit entry %d holds personal data", e.Seq)
			}
		}
	}
	s.Close()
}

func BenchmarkAuditVerify10k(b *testing.B) {
	s := mustOpen(b, dbPath(b), testOptions(nil))
	defer s.Close()
	if err := s.AuditBulkForTest(10000); err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	for b.Loop() {
		start := time.Now()
		c, err := s.VerifyAudit()
		took = time.Since(start)
		if err != nil || c.Break != nil || c.Entries != 10000 {
			b.Fatalf("%+v %v %v", c, c.Break, err)
		}
	}
	b.ReportMetric(float64(took.Microseconds())/1000, "audit_verify_10k_ms:ms")
}

// Every change of an operation's state is an audit entry, written in the
// transaction that makes the change: accepted, acknowledged, rejected,
// retried, set aside as damaged. The entries name the voucher, the kind and
// central's code, never the personal fields or central's free text, and
// the chain stays intact.
func TestOperationStateChangesAreAudited(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	a := enqueue(t, s, "report_loss", personalJSON(t, 0))
	b := enqueue(t, s, "suspend", personalJSON(t, 1))
	c := enqueue(t, s, "resume", personalJSON(t, 2))
	if err := s.Acknowledge(a.Key, "C-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(b.Key, "card_unknown", "card "+cardNumber+" is not known"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(b.Key); err != nil {
		t.Fatal(err)
	}
	s.Close()
	damage(t, path, "personal", c.Seq, func(p []byte) []byte { p[len(p)/2] ^= 1; return p })
	s = mustOpen(t, path, testOptions(nil))
	defer s.Close()
	if _, err := s.Pending(0, 10); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"operation.pending voucher " + a.Voucher + ", report_loss",
		"operation.pending voucher " + b.Voucher + ", suspend",
		"operation.pending voucher " + c.Voucher + ", resume",
		"operation.acknowledged voucher " + a.Voucher + ", report_loss, from pending",
		"operation.rejected voucher " + b.Voucher + ", suspend, from pending, code card_unknown",
		"operation.pending voucher " + b.Voucher + ", suspend, from rejected",
		"operation.damaged voucher " + c.Voucher + ", resume, from pending, code damaged_record",
	}
	log, err := s.AuditLog(100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		if e.Who != store.AuditOperationWho {
			t.Errorf("entry %d by %q, want %q", e.Seq, e.Who, store.AuditOperationWho)
		}
		got = append(got, e.Action+" "+e.Detail)
		for _, p := range []string{subjectNameCN, subjectID, cardNumber, subjectNameVN} {
			if strings.Contains(e.Who+e.Action+e.Detail, p) {
				t.Errorf("audit entry %d holds personal data: %q", e.Seq, e.Detail)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v, err := s.VerifyAudit(); err != nil || v.Break != nil || v.Entries != len(want) {
		t.Fatalf("VerifyAudit = %+v, %v", v, err)
	}
}
