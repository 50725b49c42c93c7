package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vigilops/vigil/audit"
)

func exportTest(t *testing.T, s *Store, signer *audit.Signer, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	sum, err := s.ExportIncident(context.Background(), &buf, id, audit.NewKeys(signer.PublicKey()), t0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Incident != id || sum.KeyIDs[0] != signer.KeyID() {
		t.Fatalf("export summary = %+v", sum)
	}
	return buf.Bytes()
}

func TestExportedBundleVerifies(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s, signer := signedStore(t)
		appendTest(t, s, "inc-1", "incident.note", 7) // after the seal: export seals it
		b := exportTest(t, s, signer, "inc-1")
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 1+5+2 {
			t.Fatalf("bundle has %d lines, want header + 5 records + 2 checkpoints:\n%s", len(lines), b)
		}
		for _, pinned := range []audit.Keys{audit.NewKeys(signer.PublicKey()), nil} {
			v, err := audit.VerifyBundle(bytes.NewReader(b), pinned)
			if err != nil || v.Records != 5 || v.Checkpoints != 2 || v.Pinned != (pinned != nil) || v.KeyIDs[0] != signer.KeyID() {
				t.Fatalf("verify bundle (pinned %v) = %+v, %v", pinned != nil, v, err)
			}
		}
		if err := verifyBySpec(b, signer.PublicKey()); err != nil {
			t.Fatalf("the README's procedure rejects a good bundle: %v", err)
		}
	})
}

// verifyBySpec follows the README's "Verifying a bundle by hand" steps using only
// the standard library, as a third party would, to show the format is enough.
func verifyBySpec(bundle []byte, pub ed25519.PublicKey) error {
	lines := bytes.Split(bytes.TrimSpace(bundle), []byte("\n"))
	var header struct {
		Type     string `json:"type"`
		Incident string `json:"incident"`
	}
	if err := json.Unmarshal(lines[0], &header); err != nil || header.Type != "vigil.audit.bundle/v1" {
		return fmt.Errorf("header: %v", err)
	}
	type rec struct {
		seq  int64
		hash string
	}
	var recs []rec
	covered := -1
	for i, l := range lines[1:] {
		var line map[string]any
		if err := json.Unmarshal(l, &line); err != nil {
			return err
		}
		switch line["type"] {
		case "record":
			sum := sha256.Sum256([]byte(line["canonical"].(string)))
			if hex.EncodeToString(sum[:]) != line["hash"] {
				return fmt.Errorf("line %d: hash", i+2)
			}
			var r struct {
				Seq      int64  `json:"seq"`
				Incident string `json:"incident"`
			}
			if err := json.Unmarshal([]byte(line["canonical"].(string)), &r); err != nil || r.Incident != header.Incident {
				return fmt.Errorf("line %d: incident", i+2)
			}
			recs = append(recs, rec{r.Seq, line["hash"].(string)})
		case "checkpoint":
			sig, _ := base64.StdEncoding.DecodeString(line["signature"].(string))
			signed := line["signed"].(string)
			if !ed25519.Verify(pub, []byte(signed), sig) {
				return fmt.Errorf("line %d: signature", i+2)
			}
			var c struct {
				Type     string `json:"type"`
				Seq      int64  `json:"seq"`
				Incident string `json:"incident"`
				Records  int    `json:"incident_records"`
				Digest   string `json:"incident_digest"`
			}
			if err := json.Unmarshal([]byte(signed), &c); err != nil || c.Type != "vigil.audit.checkpoint/v1" || c.Incident != header.Incident {
				return fmt.Errorf("line %d: checkpoint", i+2)
			}
			h := sha256.New()
			n := 0
			for _, r := range recs {
				if r.seq <= c.Seq {
					fmt.Fprintf(h, "%d %s\n", r.seq, r.hash)
					n++
				}
			}
			if n != c.Records || hex.EncodeToString(h.Sum(nil)) != c.Digest {
				return fmt.Errorf("line %d: digest", i+2)
			}
			covered = c.Records
		}
	}
	if covered != len(recs) {
		return errors.New("not every record is covered")
	}
	return nil
}

// TestBundleTampering edits an exported bundle the ways a third party must be
// able to detect.
func TestBundleTampering(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s, signer := signedStore(t)
		good := exportTest(t, s, signer, "inc-1")
		mallory := newKey(t)
		edit := func(f func(lines []map[string]any) []map[string]any) func() []byte {
			return func() []byte {
				var lines []map[string]any
				for _, l := range bytes.Split(bytes.TrimSpace(good), []byte("\n")) {
					var m map[string]any
					if err := json.Unmarshal(l, &m); err != nil {
						t.Fatal(err)
					}
					lines = append(lines, m)
				}
				var out bytes.Buffer
				for _, m := range f(lines) {
					b, _ := json.Marshal(m)
					out.Write(append(b, '\n'))
				}
				return out.Bytes()
			}
		}
		rehash := func(m map[string]any, from, to string) {
			c := strings.Replace(m["canonical"].(string), from, to, 1)
			sum := sha256.Sum256([]byte(c))
			m["canonical"], m["hash"] = c, hex.EncodeToString(sum[:])
		}
		tests := []struct {
			name   string
			bundle func() []byte
			pinned bool
			want   string // "" = verifies
		}{
			{name: "intact", bundle: func() []byte { return good }, pinned: true},
			{name: "altered record", bundle: edit(func(l []map[string]any) []map[string]any {
				l[2]["canonical"] = strings.Replace(l[2]["canonical"].(string), "alice", "bob", 1)
				return l
			}), want: "bundle line 3: record 2: canonical text does not match its hash"},
			{name: "altered and rehashed record", bundle: edit(func(l []map[string]any) []map[string]any {
				rehash(l[2], "alice", "bob")
				return l
			}), want: "bundle line 6: checkpoint #6: it signs 4 record(s)"},
			{name: "record dropped", bundle: edit(func(l []map[string]any) []map[string]any {
				l[0]["records"] = 3.0
				return append(l[:2], l[3:]...)
			}), want: "bundle line 5: checkpoint #6: it signs 4 record(s) with digest"},
			{name: "record of another incident", bundle: edit(func(l []map[string]any) []map[string]any {
				rehash(l[2], `"incident":"inc-1"`, `"incident":"inc-2"`)
				return l
			}), want: `record 2: belongs to incident "inc-2"`},
			{name: "checkpoint dropped", bundle: edit(func(l []map[string]any) []map[string]any { return l[:5] }),
				want: "bundle: the header counts 4 record(s) and 1 checkpoint(s), the bundle has 4 and 0"},
			{name: "checkpoint altered", bundle: edit(func(l []map[string]any) []map[string]any {
				l[5]["signed"] = strings.Replace(l[5]["signed"].(string), `"incident_records":4`, `"incident_records":3`, 1)
				return l
			}), want: "checkpoint #6: signature does not verify"},
			{name: "reordered records", bundle: edit(func(l []map[string]any) []map[string]any {
				l[1], l[2] = l[2], l[1]
				return l
			}), want: "record 1: out of order after record 2"},
			{name: "re-signed with another key, unpinned", bundle: edit(func(l []map[string]any) []map[string]any {
				return resign(t, l, mallory)
			}), pinned: false},
			{name: "re-signed with another key, pinned", bundle: edit(func(l []map[string]any) []map[string]any {
				return resign(t, l, mallory)
			}), pinned: true, want: "signed by a key that is not trusted"},
			{name: "not a bundle", bundle: func() []byte { return []byte("{}\n") }, want: "bundle line 1: not a vigil.audit.bundle/v1 header"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var keys audit.Keys
				if tt.pinned {
					keys = audit.NewKeys(signer.PublicKey())
				}
				_, err := audit.VerifyBundle(bytes.NewReader(tt.bundle()), keys)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("verify = %v, want success", err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("verify = %v\nwant an error containing %q", err, tt.want)
				}
			})
		}
	})
}

// resign replaces the bundle's key with key and re-signs its checkpoints, as a
// forger would: only pinning the real key catches it.
func resign(t *testing.T, lines []map[string]any, key *audit.Signer) []map[string]any {
	t.Helper()
	lines[0]["keys"] = []any{map[string]any{"key_id": key.KeyID(), "ed25519": base64Std(key.PublicKey())}}
	for _, m := range lines[1:] {
		if m["type"] != "checkpoint" {
			continue
		}
		var b audit.CheckpointBody
		if err := json.Unmarshal([]byte(m["signed"].(string)), &b); err != nil {
			t.Fatal(err)
		}
		cp, err := key.Sign(b)
		if err != nil {
			t.Fatal(err)
		}
		m["signed"], m["signature"], m["key_id"] = cp.Body, base64Std(cp.Signature), cp.KeyID
	}
	return lines
}

func TestExportWithoutTheKeyNeedsASealedIncident(t *testing.T) {
	path := t.TempDir() + "/vigil.db"
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	signer := newKey(t)
	ctx := context.Background()
	if _, err := s.EnableSigning(ctx, signer); err != nil {
		t.Fatal(err)
	}
	appendTest(t, s, "inc-1", "incident.opened", 1)
	if _, err := s.SealIncident(ctx, "inc-1"); err != nil {
		t.Fatal(err)
	}
	appendTest(t, s, "inc-1", "incident.note", 2)

	reader, err := Open(path) // another process, without the signing key
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	keys := audit.NewKeys(signer.PublicKey())
	if _, err := reader.ExportIncident(ctx, &bytes.Buffer{}, "inc-1", keys, t0); err == nil || !strings.Contains(err.Error(), "1 of its 2 records are not covered by an incident checkpoint") {
		t.Fatalf("export of an unsealed record without the key = %v", err)
	}
	if _, err := s.SealIncident(ctx, "inc-1"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := reader.ExportIncident(ctx, &buf, "inc-1", keys, t0); err != nil {
		t.Fatalf("export once sealed = %v", err)
	}
	if _, err := reader.ExportIncident(ctx, &buf, "inc-1", audit.NewKeys(newKey(t).PublicKey()), t0); !errors.Is(err, audit.ErrUntrustedKey) {
		t.Errorf("export with the wrong public key = %v", err)
	}
}
