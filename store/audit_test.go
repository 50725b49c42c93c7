package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
)

func newKey(t testing.TB) *audit.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return audit.NewSigner(priv)
}

// signedStore is a store that signs with a fresh key, holding this trail:
//
//	seq 1 inc-1 incident.opened     checkpoint #1
//	seq 2 inc-1 decision.approve    checkpoint #2
//	seq 3 inc-2 incident.opened     checkpoint #3
//	seq 4 inc-1 step.finished       checkpoint #4
//	seq 5 inc-1 incident.resolved   checkpoint #5
//	                                checkpoint #6: incident inc-1 (4 records) at seq 5
func signedStore(t *testing.T) (*Store, *audit.Signer) {
	t.Helper()
	s := openTest(t)
	signer := newKey(t)
	ctx := context.Background()
	if _, err := s.EnableSigning(ctx, signer); err != nil {
		t.Fatal(err)
	}
	for i, a := range []struct{ inc, action string }{
		{"inc-1", "incident.opened"}, {"inc-1", "decision.approve"}, {"inc-2", "incident.opened"},
		{"inc-1", "step.finished"}, {"inc-1", "incident.resolved"},
	} {
		appendTest(t, s, a.inc, a.action, i)
	}
	if cp, err := s.SealIncident(ctx, "inc-1"); err != nil || cp.N != 6 || cp.IncidentRecords != 4 {
		t.Fatalf("seal inc-1 = %+v, %v", cp, err)
	}
	return s, signer
}

func appendTest(t testing.TB, s *Store, inc, action string, i int) audit.Record {
	t.Helper()
	r, err := s.AppendAudit(context.Background(), audit.Entry{
		Key: fmt.Sprintf("%s/%d", inc, i), Incident: inc, At: t0.Add(time.Duration(i) * time.Second),
		Actor: "user:alice", Action: action, Details: map[string]any{"n": i, "why": "<test> & more"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// forgeRecord appends a record with a correctly computed hash, as someone with
// write access to the database file (but not the signing key) could.
func forgeRecord(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	var head audit.Record
	if err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&head.Seq, &head.Hash); err != nil {
		t.Fatal(err)
	}
	r := audit.Record{Seq: head.Seq + 1, Key: "forged", Incident: "inc-1", At: ts(t0), Actor: "user:mallory", Action: "decision.approve", Details: []byte(`{}`), PrevHash: head.Hash}
	var err error
	if r.Hash, err = r.ComputeHash(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO audit (seq, key, incident_id, at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, r.Key, r.Incident, r.At, r.Actor, r.Action, string(r.Details), r.PrevHash, r.Hash); err != nil {
		t.Fatal(err)
	}
}

// rewriteFrom alters record seq and recomputes the hash chain from there to the
// end, as a tamperer who knows the hash rule would.
func rewriteFrom(t *testing.T, s *Store, seq int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `UPDATE audit SET actor = 'user:mallory' WHERE seq = ?`, seq); err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(ctx, auditCols+` WHERE seq >= ? ORDER BY seq`, seq-1)
	if err != nil {
		t.Fatal(err)
	}
	var recs []audit.Record
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	_ = rows.Close()
	for i := 1; i < len(recs); i++ {
		recs[i].PrevHash = recs[i-1].Hash
		if recs[i].Hash, err = recs[i].ComputeHash(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?`, recs[i].PrevHash, recs[i].Hash, recs[i].Seq); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyCatchesTampering alters, deletes, appends, reorders and truncates
// the trail the ways someone with write access to the SQLite file could, and
// expects verification to name the first bad record or checkpoint each time.
func TestVerifyCatchesTampering(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		sql := func(stmts ...string) func(*testing.T, *Store) {
			return func(t *testing.T, s *Store) {
				for _, q := range stmts {
					if _, err := s.db.Exec(q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
		}
		tests := []struct {
			name     string
			tamper   func(*testing.T, *Store)
			unsigned bool // verify without keys (signatures unchecked)
			want     string
		}{
			{name: "intact", tamper: sql()},
			{name: "altered details", tamper: sql(`UPDATE audit SET details = '{"n":1,"why":"nothing to see"}' WHERE seq = 2`),
				want: "audit record 2: content does not match its hash"},
			{name: "altered actor", tamper: sql(`UPDATE audit SET actor = 'user:mallory' WHERE seq = 3`),
				want: "audit record 3: content does not match its hash"},
			{name: "altered time", tamper: sql(`UPDATE audit SET at = '2020-01-01T00:00:00.000000000Z' WHERE seq = 4`),
				want: "audit record 4: content does not match its hash"},
			{name: "moved to another incident", tamper: sql(`UPDATE audit SET incident_id = 'inc-2' WHERE seq = 4`),
				want: "audit record 4: content does not match its hash"},
			{name: "invalid json", tamper: sql(`UPDATE audit SET details = '{' WHERE seq = 1`),
				want: "audit record 1: details are not valid JSON"},
			{name: "altered and rehashed alone", tamper: sql(`UPDATE audit SET action = 'x', hash = 'f00' WHERE seq = 1`),
				want: "audit record 1: content does not match its hash"},
			{name: "deleted record", tamper: sql(`DELETE FROM audit WHERE seq = 2`),
				want: "audit record 2: missing (record 1 is followed by 3): records were deleted"},
			{name: "reordered records", tamper: sql(`UPDATE audit SET seq = -1 WHERE seq = 3`, `UPDATE audit SET seq = 3 WHERE seq = 4`, `UPDATE audit SET seq = 4 WHERE seq = -1`),
				want: "audit record 3: prev_hash does not match the hash of the record before it"},
			{name: "truncated by one", tamper: sql(`DELETE FROM audit WHERE seq = 5`),
				want: "audit record 5: missing: signed checkpoint #5 covers records through 5 but the trail ends at 4: records were deleted from the end"},
			{name: "truncated by two", tamper: sql(`DELETE FROM audit WHERE seq >= 4`),
				want: "audit record 4: missing: signed checkpoint #4 covers records through 4 but the trail ends at 3"},
			{name: "emptied", tamper: sql(`DELETE FROM audit`),
				want: "audit record 1: missing: signed checkpoint #1 covers records through 1 but the trail ends at 0"},
			{name: "appended with a wrong hash", tamper: sql(`INSERT INTO audit (seq, key, incident_id, at, actor, action, details, prev_hash, hash)
			SELECT 6, 'x', 'inc-1', at, 'user:mallory', 'decision.approve', '{}', hash, 'f00' FROM audit WHERE seq = 5`),
				want: "audit record 6: content does not match its hash"},
			{name: "appended with a correct hash", tamper: forgeRecord,
				want: "audit record 6: not covered by any signed checkpoint (the last, #6, covers records through 5): records 6..6 were appended outside Vigil"},
			{name: "appended with a checkpoint signed by another key", tamper: func(t *testing.T, s *Store) {
				forgeRecord(t, s)
				forgeCheckpoint(t, s, newKey(t), 7, 6)
			}, want: "audit checkpoint #7: key "},
			{name: "chain rewritten from a record", tamper: func(t *testing.T, s *Store) { rewriteFrom(t, s, 2) },
				want: "audit record 2: hash differs from the one signed in checkpoint #2: the chain was rewritten"},
			{name: "deleted checkpoint", tamper: sql(`DELETE FROM audit_checkpoints WHERE n = 3`),
				want: "audit checkpoint #3: missing (checkpoint #2 is followed by #4): checkpoints were deleted"},
			{name: "deleted every checkpoint", tamper: sql(`DELETE FROM audit_checkpoints`),
				want: "audit record 1: not covered by any signed checkpoint: the trail's checkpoints were deleted, or it was never signed"},
			{name: "altered checkpoint body", tamper: sql(`UPDATE audit_checkpoints SET body = replace(body, '"seq":2', '"seq":3') WHERE n = 2`),
				want: "audit checkpoint #2: signature does not verify with key"},
			{name: "altered checkpoint column", tamper: sql(`UPDATE audit_checkpoints SET seq = 4 WHERE n = 2`),
				want: "audit checkpoint #2: row (n 2, seq 4"},
			{name: "altered signature", tamper: sql(`UPDATE audit_checkpoints SET signature = 'AAAA' WHERE n = 6`),
				want: "audit checkpoint #6: signature does not verify"},
			{name: "incident checkpoint altered, signatures unchecked", unsigned: true,
				tamper: sql(`UPDATE audit_checkpoints SET body = replace(body, '"incident_records":4', '"incident_records":3') WHERE n = 6`),
				want:   "audit checkpoint #6: incident inc-1: it signs 3 record(s)"},
			{name: "rewritten chain, signatures unchecked", unsigned: true, tamper: func(t *testing.T, s *Store) { rewriteFrom(t, s, 2) },
				want: "audit record 2: hash differs from the one signed in checkpoint #2"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, signer := signedStore(t)
				tt.tamper(t, s)
				keys := audit.NewKeys(signer.PublicKey())
				if tt.unsigned {
					keys = nil
				}
				v, err := s.VerifyAuditWith(context.Background(), keys, nil)
				if tt.want == "" {
					if err != nil || v.Records != 5 || v.Checkpoints != 6 || !v.Signed || len(v.KeyIDs) != 1 || v.KeyIDs[0] != signer.KeyID() {
						t.Fatalf("verify intact trail = %+v, %v", v, err)
					}
					return
				}
				if !audit.IsTrailError(err) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("verify = %v\nwant an error containing %q", err, tt.want)
				}
			})
		}
	})
}

// forgeCheckpoint signs a checkpoint over the current head with a key the store
// does not trust and stores it as checkpoint n.
func forgeCheckpoint(t *testing.T, s *Store, key *audit.Signer, n, seq int64) {
	t.Helper()
	var hash string
	if err := s.db.QueryRow(`SELECT hash FROM audit WHERE seq = ?`, seq).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	cp, err := key.Sign(audit.CheckpointBody{N: n, Seq: seq, Hash: hash, At: ts(t0)})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := insertCheckpoint(context.Background(), tx, cp); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWithAnUntrustedKey(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s, _ := signedStore(t)
		_, err := s.VerifyAuditWith(context.Background(), audit.NewKeys(newKey(t).PublicKey()), nil)
		if !errors.Is(err, audit.ErrUntrustedKey) || !strings.Contains(err.Error(), "audit checkpoint #1") {
			t.Fatalf("verify with another key = %v, want checkpoint #1 untrusted", err)
		}
	})
}

// TestTruncationNeedsAWitness shows the one thing no local check can catch: the
// newest records deleted together with their checkpoints. A checkpoint held
// elsewhere (from an exported bundle or a posted postmortem) catches it.
func TestTruncationNeedsAWitness(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s, signer := signedStore(t)
		ctx := context.Background()
		witness, err := s.SealIncident(ctx, "inc-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec(`DELETE FROM audit WHERE seq >= 4; DELETE FROM audit_checkpoints WHERE seq >= 4`); err != nil {
			t.Fatal(err)
		}
		keys := audit.NewKeys(signer.PublicKey())
		if v, err := s.VerifyAuditWith(ctx, keys, nil); err != nil || v.Records != 3 {
			t.Fatalf("without a witness: %+v, %v; want the shortened trail to look intact (this is the documented limit)", v, err)
		}
		_, err = s.VerifyAuditWith(ctx, keys, []audit.Checkpoint{witness})
		if want := "audit record 4: missing: outside checkpoint #6 covers records through 5 but the trail ends at 3"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("with a witness: %v, want %q", err, want)
		}
	})
}

// TestWritesStopOnATamperedTrail: once the head is not vouched for, Vigil writes
// nothing more, so no later checkpoint can sign what was put there.
func TestWritesStopOnATamperedTrail(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		tests := []struct {
			name   string
			tamper func(*testing.T, *Store)
			want   string
		}{
			{"forged append", forgeRecord, "records 6..6 were appended after the last checkpoint (#6), not by Vigil"},
			{"truncated", func(t *testing.T, s *Store) { mustExec(t, s, `DELETE FROM audit WHERE seq = 5`) }, "checkpoint #6 covers records through 5 but the trail ends at 4"},
			{"rewritten", func(t *testing.T, s *Store) { rewriteFrom(t, s, 2) }, "record 5 differs from checkpoint #6: the trail was rewritten"},
			{"forged last checkpoint", func(t *testing.T, s *Store) {
				forgeRecord(t, s)
				forgeCheckpoint(t, s, newKey(t), 7, 6)
			}, "checkpoint #7: key"},
			{"checkpoints deleted", func(t *testing.T, s *Store) { mustExec(t, s, `DELETE FROM audit_checkpoints`) }, "no checkpoint covers records 1..5"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, _ := signedStore(t)
				tt.tamper(t, s)
				_, err := s.AppendAudit(context.Background(), audit.Entry{Key: "next", Incident: "inc-1", At: t0, Actor: "system:vigil", Action: "incident.reopened"})
				if !errors.Is(err, ErrAuditUnsealed) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("append = %v, want ErrAuditUnsealed with %q", err, tt.want)
				}
				if _, err := s.SealIncident(context.Background(), "inc-1"); !errors.Is(err, ErrAuditUnsealed) {
					t.Errorf("seal = %v, want ErrAuditUnsealed", err)
				}
			})
		}
	})
}

func mustExec(t *testing.T, s *Store, q string) {
	t.Helper()
	if _, err := s.db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func TestEnableSigning(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		t.Run("adopts an unsigned trail after verifying it", func(t *testing.T) {
			s := openTest(t)
			for i := range 3 {
				appendTest(t, s, "inc-1", "x", i)
			}
			signer := newKey(t)
			n, err := s.EnableSigning(ctx, signer)
			if err != nil || n != 3 {
				t.Fatalf("adopt = %d, %v", n, err)
			}
			v, err := s.VerifyAuditWith(ctx, audit.NewKeys(signer.PublicKey()), nil)
			if err != nil || v.Records != 3 || v.Checkpoints != 1 {
				t.Fatalf("verify after adoption = %+v, %v", v, err)
			}
			if n, err := s.EnableSigning(ctx, signer); err != nil || n != 0 {
				t.Errorf("second enable = %d, %v; want nothing adopted", n, err)
			}
		})
		t.Run("refuses to adopt a broken trail", func(t *testing.T) {
			s := openTest(t)
			for i := range 3 {
				appendTest(t, s, "inc-1", "x", i)
			}
			mustExec(t, s, `UPDATE audit SET actor = 'user:mallory' WHERE seq = 2`)
			if _, err := s.EnableSigning(ctx, newKey(t)); err == nil || !strings.Contains(err.Error(), "cannot adopt the existing trail: audit record 2: content does not match") {
				t.Fatalf("adopt broken trail = %v", err)
			}
		})
		t.Run("refuses a trail signed with another key", func(t *testing.T) {
			s, _ := signedStore(t)
			if _, err := s.EnableSigning(ctx, newKey(t)); !errors.Is(err, ErrAuditUnsealed) || !errors.Is(err, audit.ErrUntrustedKey) {
				t.Fatalf("enable with a new key = %v", err)
			}
		})
		t.Run("accepts a trail signed with a trusted earlier key", func(t *testing.T) {
			s, old := signedStore(t)
			next := newKey(t)
			if _, err := s.EnableSigning(ctx, next, old.PublicKey()); err != nil {
				t.Fatal(err)
			}
			appendTest(t, s, "inc-1", "after.rotation", 9)
			v, err := s.VerifyAuditWith(ctx, audit.NewKeys(old.PublicKey(), next.PublicKey()), nil)
			if err != nil || len(v.KeyIDs) != 2 {
				t.Fatalf("verify across a rotation = %+v, %v", v, err)
			}
		})
		t.Run("a store without a key does not write to a signed trail", func(t *testing.T) {
			s, _ := signedStore(t)
			s.audit.signer, s.audit.keys = nil, nil
			if _, err := s.AppendAudit(ctx, audit.Entry{Key: "k", Action: "x"}); !errors.Is(err, ErrAuditUnsealed) || !strings.Contains(err.Error(), "no signing key is configured") {
				t.Fatalf("unsigned append to a signed trail = %v", err)
			}
		})
	})
}

func TestAppendIsIdempotentAndSealed(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s, signer := signedStore(t)
		ctx := context.Background()
		again, err := s.AppendAudit(ctx, audit.Entry{Key: "inc-1/1", Incident: "inc-1", At: t0, Actor: "user:someone-else", Action: "other"})
		if err != nil || again.Seq != 2 || again.Action != "decision.approve" {
			t.Fatalf("retried append = %+v, %v; want record 2 unchanged", again, err)
		}
		cp1, err := s.SealIncident(ctx, "inc-1")
		if err != nil || cp1.N != 6 {
			t.Fatalf("reseal without new records = %+v, %v; want checkpoint #6 again", cp1, err)
		}
		appendTest(t, s, "inc-1", "incident.note", 7)
		cp2, err := s.SealIncident(ctx, "inc-1")
		if err != nil || cp2.N != 8 || cp2.Seq != 6 || cp2.IncidentRecords != 5 {
			t.Fatalf("reseal after a note = %+v, %v; want #8 over 5 records", cp2, err)
		}
		if _, err := s.SealIncident(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("seal an incident without records = %v", err)
		}
		if _, err := openTest(t).SealIncident(ctx, "inc-1"); !errors.Is(err, ErrNotSigning) {
			t.Errorf("seal without a key = %v", err)
		}
		if _, err := s.VerifyAuditWith(ctx, audit.NewKeys(signer.PublicKey()), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAppendAuditsInOneCommit: a batch is appended in order under one signed
// checkpoint; entries whose key is already in the trail, or earlier in the
// batch, record nothing new; a retried batch returns the same records.
func TestAppendAuditsInOneCommit(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s, signer := signedStore(t) // 5 records, checkpoints #1..#6
		ctx := context.Background()
		entry := func(key, action string) audit.Entry {
			return audit.Entry{Key: key, Incident: "inc-3", At: t0, Actor: "system:ingest", Action: action, Details: map[string]any{"k": key}}
		}
		batch := []audit.Entry{
			entry("inc-3/1", "incident.opened"), entry("inc-1/1", "retried"), entry("inc-3/2", "alert.firing"),
			entry("inc-3/2", "duplicate"), entry("inc-3/3", "alert.firing"),
		}
		recs, err := s.AppendAudits(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			seq    int64
			action string
		}
		want := []got{{6, "incident.opened"}, {2, "decision.approve"}, {7, "alert.firing"}, {7, "alert.firing"}, {8, "alert.firing"}}
		for i, r := range recs {
			if (got{r.Seq, r.Action}) != want[i] {
				t.Errorf("record %d = seq %d %s, want %+v", i, r.Seq, r.Action, want[i])
			}
		}
		again, err := s.AppendAudits(ctx, batch)
		if err != nil || !slices.EqualFunc(again, recs, func(a, b audit.Record) bool { return a.Seq == b.Seq && a.Hash == b.Hash }) {
			t.Errorf("retried batch = %+v, %v; want the same records", again, err)
		}
		if recs, err := s.AppendAudits(ctx, nil); err != nil || recs != nil {
			t.Errorf("empty batch = %v, %v", recs, err)
		}
		v, err := s.VerifyAuditWith(ctx, audit.NewKeys(signer.PublicKey()), nil)
		if err != nil || v.Records != 8 || v.Checkpoints != 7 {
			t.Errorf("verify = %+v, %v; want 8 records, one more checkpoint", v, err)
		}
	})
}

// TestConcurrentAppendsShareCommits: concurrent appenders all get durable,
// distinct records in one intact, fully signed chain, in fewer commits (hence
// checkpoints) than records; a key appended twice concurrently records once.
func TestConcurrentAppendsShareCommits(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		signer := newKey(t)
		ctx := context.Background()
		if _, err := s.EnableSigning(ctx, signer); err != nil {
			t.Fatal(err)
		}
		const n = 64
		var wg sync.WaitGroup
		seqs := make([]int64, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				key := fmt.Sprintf("k%d", i)
				if i == n-1 {
					key = "k0" // the same act, retried concurrently
				}
				r, err := s.AppendAudit(ctx, audit.Entry{Key: key, Incident: "inc", At: t0, Actor: "system:test", Action: "x"})
				seqs[i], errs[i] = r.Seq, err
			})
		}
		close(start)
		wg.Wait()
		seen := map[int64]int{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
			seen[seqs[i]]++
		}
		if len(seen) != n-1 || seqs[0] != seqs[n-1] {
			t.Fatalf("%d distinct seqs for %d distinct keys; k0 got %d and %d", len(seen), n-1, seqs[0], seqs[n-1])
		}
		v, err := s.VerifyAuditWith(ctx, audit.NewKeys(signer.PublicKey()), nil)
		if err != nil || v.Records != n-1 {
			t.Fatalf("verify = %+v, %v", v, err)
		}
		t.Logf("%d records in %d commits", v.Records, v.Checkpoints)
		if v.Checkpoints >= v.Records {
			t.Errorf("%d commits for %d concurrent records: appends were not grouped", v.Checkpoints, v.Records)
		}
	})
}

func TestAppendWithEndedContext(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.AppendAudit(ctx, audit.Entry{Key: "k", Action: "x"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("append with a cancelled context = %v", err)
		}
		if n, err := s.VerifyAudit(context.Background()); err != nil || n != 0 {
			t.Errorf("trail after a cancelled append: %d records, %v", n, err)
		}
	})
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
