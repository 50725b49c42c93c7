package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/pgtest"
	"github.com/vigilops/vigil/store"
)

const cliIncident = "incident-1-diskfull-db"

// seedStore makes a data directory holding one resolved incident whose audit
// trail is signed with the directory's development key, as `vigil dev` leaves it.
func seedStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	seedStoreAt(t, dir, "sqlite://"+filepath.Join(dir, vigilDB))
	return dir
}

// seedStoreAt seeds the store dsn names, signing with dir's development key.
func seedStoreAt(t *testing.T, dir, dsn string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	key, _, err := signingKey(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.EnableSigning(ctx, audit.NewSigner(key)); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	group := map[string]string{"alertname": "DiskFull", "service": "db"}
	if _, err := st.IngestAlerts(ctx, "am", []store.AlertIn{{Fingerprint: "f1", Status: "firing", Labels: group, StartsAt: now.Add(-time.Hour), GroupKey: "k", GroupLabels: group}}, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	inc := incident.Incident{ID: cliIncident, Title: "DiskFull on db", Status: incident.StatusResolved, Services: []string{"db"}, Severity: "critical",
		DetectedAt: now.Add(-time.Hour), ResolvedAt: now.Add(-40 * time.Minute), UpdatedAt: now}
	if err := st.SaveIncident(ctx, inc, 1); err != nil {
		t.Fatal(err)
	}
	for i, a := range []string{"incident.opened", "alert.firing", "decision.approve", "incident.resolved"} {
		if _, err := st.AppendAudit(ctx, audit.Entry{
			Key: fmt.Sprintf("%s/%d", cliIncident, i), Incident: cliIncident, At: now.Add(time.Duration(i-60) * time.Minute),
			Actor: "user:alice", Action: a, Details: map[string]any{"evidence": "E1", "proposal": "P1", "runbook": "clean", "reason": "done"},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func vigilCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(args, &out, &out)
	return code, out.String()
}

func sqlExec(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(dir, vigilDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAuditVerifyCatchesTamperingFromTheCommandLine edits the SQLite file as an
// attacker with write access would and expects `vigil audit verify` to fail,
// naming where.
func TestAuditVerifyCatchesTamperingFromTheCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		tamper []string
		want   string
	}{
		{"altered", []string{`UPDATE audit SET actor = 'user:mallory' WHERE seq = 3`}, "audit record 3: content does not match its hash"},
		{"deleted", []string{`DELETE FROM audit WHERE seq = 2`}, "audit record 2: missing (record 1 is followed by 3)"},
		{"appended", []string{`INSERT INTO audit (seq, key, incident_id, at, actor, action, details, prev_hash, hash)
			SELECT 5, 'x', incident_id, at, 'user:mallory', 'decision.approve', '{}', hash, hash FROM audit WHERE seq = 4`}, "audit record 5: content does not match its hash"},
		{"truncated", []string{`DELETE FROM audit WHERE seq = 4`}, "audit record 4: missing: signed checkpoint #4 covers records through 4 but the trail ends at 3: records were deleted from the end"},
		{"checkpoints deleted", []string{`DELETE FROM audit_checkpoints`}, "audit record 1: not covered by any signed checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := seedStore(t)
			sqlExec(t, dir, tt.tamper...)
			code, out := vigilCLI(t, "audit", "verify", "--data-dir", dir)
			if code != 1 || !strings.Contains(out, "audit trail BROKEN") || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d: %s\nwant exit 1 and %q", code, out, tt.want)
			}
		})
	}
}

func TestAuditExportAndWitness(t *testing.T) {
	dir := seedStore(t)
	code, out := vigilCLI(t, "audit", "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "audit trail intact: 4 record(s) verified; 4 checkpoint(s) signed by key") {
		t.Fatalf("verify: exit %d: %s", code, out)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.jsonl")
	if code, out := vigilCLI(t, "audit", "export", "--incident", cliIncident, "--data-dir", dir, "--out", bundle); code != 0 || !strings.Contains(out, "4 record(s), 1 checkpoint(s)") {
		t.Fatalf("export: exit %d: %s", code, out)
	}
	pub := filepath.Join(t.TempDir(), "vigil-audit.pub")
	code, out = vigilCLI(t, "audit", "public-key", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "BEGIN PUBLIC KEY") {
		t.Fatalf("public-key: exit %d: %s", code, out)
	}
	if err := os.WriteFile(pub, []byte(out[strings.Index(out, "# key id"):]), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := vigilCLI(t, "audit", "verify", "--bundle", bundle, "--public-key", pub); code != 0 || !strings.Contains(out, "audit bundle intact: incident "+cliIncident+", 4 record(s), 1 checkpoint(s)") || strings.Contains(out, "checked with the key in the bundle") {
		t.Fatalf("verify pinned bundle: exit %d: %s", code, out)
	}
	if code, out := vigilCLI(t, "audit", "verify", "--bundle", bundle); code != 0 || !strings.Contains(out, "checked with the key in the bundle") {
		t.Fatalf("verify unpinned bundle: exit %d: %s", code, out)
	}

	// The newest records go together with their checkpoints: only the exported
	// bundle, held elsewhere, shows it.
	sqlExec(t, dir, `DELETE FROM audit WHERE seq >= 3`, `DELETE FROM audit_checkpoints WHERE seq >= 3`)
	if code, out := vigilCLI(t, "audit", "verify", "--data-dir", dir); code != 0 {
		t.Fatalf("without the witness the shortened trail verifies (the documented limit), got exit %d: %s", code, out)
	}
	code, out = vigilCLI(t, "audit", "verify", "--data-dir", dir, "--witness", bundle)
	if code != 1 || !strings.Contains(out, "audit record 3: missing: outside checkpoint #5 covers records through 4 but the trail ends at 2") {
		t.Fatalf("verify with the witness: exit %d: %s", code, out)
	}

	other := t.TempDir() // the store without its key: signatures cannot be checked
	data, err := os.ReadFile(filepath.Join(dir, vigilDB))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, vigilDB), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := vigilCLI(t, "audit", "verify", "--data-dir", other); code != 1 || !strings.Contains(out, "no public key to check their signatures") {
		t.Errorf("verify without a key: exit %d: %s", code, out)
	}
}

func TestTimelineAndReportCommands(t *testing.T) {
	dir := seedStore(t)
	code, out := vigilCLI(t, "timeline", cliIncident, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "# Timeline: DiskFull on db") || !strings.Contains(out, "alice approved P1 (clean)") {
		t.Fatalf("timeline md: exit %d: %s", code, out)
	}
	if code, out := vigilCLI(t, "timeline", cliIncident, "--data-dir", dir, "--format", "json"); code != 0 || !strings.Contains(out, `"time_to_resolve_s": 180`) {
		t.Fatalf("timeline json: exit %d: %s", code, out)
	}
	page := filepath.Join(t.TempDir(), "t.html")
	if code, out := vigilCLI(t, "timeline", cliIncident, "--data-dir", dir, "--format", "html", "--out", page, "--tz", "Europe/Berlin"); code != 0 {
		t.Fatalf("timeline html: exit %d: %s", code, out)
	}
	if b, _ := os.ReadFile(page); !bytes.Contains(b, []byte("<!doctype html>")) || !bytes.Contains(b, []byte("Europe/Berlin")) {
		t.Errorf("timeline page: %.300s", b)
	}
	if code, out := vigilCLI(t, "timeline", "nope", "--data-dir", dir); code != 1 || !strings.Contains(out, "incident nope: not found") {
		t.Errorf("timeline of an unknown incident: exit %d: %s", code, out)
	}
	code, out = vigilCLI(t, "report", "--since", "7d", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "| Time to resolve (MTTR) | 1 | 3m00s |") || !strings.Contains(out, "| db | 1 |") {
		t.Fatalf("report: exit %d: %s", code, out)
	}
	for _, bad := range [][]string{{"--since", "a while"}, {"--format", "pdf"}, {"--tz", "Mars/Olympus"}} {
		if code, out := vigilCLI(t, append([]string{"report", "--data-dir", dir}, bad...)...); code != 1 {
			t.Errorf("report %v: exit %d: %s", bad, code, out)
		}
	}
}

func TestBackupAndRestore(t *testing.T) {
	dir := seedStore(t)
	backup := filepath.Join(t.TempDir(), "vigil-backup.db")
	code, out := vigilCLI(t, "backup", "--data-dir", dir, "--out", backup)
	if code != 0 || !strings.Contains(out, "4 audit record(s) verified, 4 checkpoint(s) signed by key") {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	if code, out := vigilCLI(t, "backup", "--data-dir", dir, "--out", backup); code != 1 || !strings.Contains(out, "file already exists") {
		t.Errorf("backup over a file: exit %d: %s", code, out)
	}

	key := filepath.Join(dir, devKeyFile)
	target := t.TempDir()
	if code, out := vigilCLI(t, "restore", "--from", backup, "--data-dir", target, "--public-key", key); code != 0 || !strings.Contains(out, "4 audit record(s) verified") {
		t.Fatalf("restore: exit %d: %s", code, out)
	}
	if code, out := vigilCLI(t, "restore", "--from", backup, "--data-dir", target, "--public-key", key); code != 1 || !strings.Contains(out, "pass --force") {
		t.Errorf("restore over a store: exit %d: %s", code, out)
	}
	if code, out := vigilCLI(t, "restore", "--from", backup, "--data-dir", target, "--public-key", key, "--force"); code != 0 || !strings.Contains(out, "is kept as") {
		t.Errorf("restore --force: exit %d: %s", code, out)
	}
	if code, out := vigilCLI(t, "restore", "--from", backup, "--data-dir", t.TempDir()); code != 1 || !strings.Contains(out, "no public key was given") {
		t.Errorf("restore of a signed backup without a key: exit %d: %s", code, out)
	}

	unlock, err := lockDataDir(target) // as a running Vigil holds it
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if code, out := vigilCLI(t, "restore", "--from", backup, "--data-dir", target, "--public-key", key, "--force"); code != 1 || !strings.Contains(out, "another Vigil is using this data directory") {
		t.Errorf("restore under a running Vigil: exit %d: %s", code, out)
	}
}

// TestCommandsOnPostgres: the reading commands take --store and work on a
// PostgreSQL store as on a SQLite one.
func TestCommandsOnPostgres(t *testing.T) {
	dsn := pgtest.SchemaDSN(t)
	if code, out := vigilCLI(t, "migrate", "--store", dsn); code != 0 || !strings.Contains(out, "applied migration(s) [1]") {
		t.Fatalf("migrate a new store: exit %d: %s", code, out)
	}
	t.Setenv("VIGIL_TEST_STORE", dsn)
	if code, out := vigilCLI(t, "migrate", "--store", "env:VIGIL_TEST_STORE"); code != 0 || !strings.Contains(out, "schema is current") {
		t.Fatalf("migrate again: exit %d: %s", code, out)
	}
	dir := t.TempDir()
	seedStoreAt(t, dir, dsn)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "verify"}, "audit trail intact: 4 record(s)"},
		{[]string{"timeline", cliIncident}, "alice approved P1 (clean)"},
		{[]string{"report", "--since", "7d"}, "| db | 1 |"},
	} {
		code, out := vigilCLI(t, append(tt.args, "--store", dsn, "--data-dir", dir)...)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, want %q in:\n%s", tt.args, code, tt.want, out)
		}
	}
	if strings.Contains(dsn, "vigil:vigil@") {
		code, out := vigilCLI(t, "audit", "verify", "--store", dsn, "--data-dir", dir)
		if strings.Contains(out, "vigil:vigil@") {
			t.Errorf("the password is printed: exit %d: %s", code, out)
		}
	}
	code, out := vigilCLI(t, "backup", "--store", dsn, "--out", filepath.Join(dir, "b.db"))
	if code != 1 || !strings.Contains(out, "pg_dump") {
		t.Errorf("backup of a PostgreSQL store: exit %d, want a pointer to pg_dump: %s", code, out)
	}
	if code, out := vigilCLI(t, "audit", "verify", "--store", "mysql://x"); code != 1 || !strings.Contains(out, "--store") {
		t.Errorf("a bad --store: exit %d: %s", code, out)
	}
}
