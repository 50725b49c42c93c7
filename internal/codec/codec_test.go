package codec

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

func key(t *testing.T, id string) Key {
	t.Helper()
	k, err := ParseKey(id, NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripAndRotation(t *testing.T) {
	k1, k2 := key(t, "k1"), key(t, "k2")
	old, err := New([]Key{k1})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := New([]Key{k2, k1})
	if err != nil {
		t.Fatal(err)
	}
	dc := converter.GetDefaultDataConverter()
	secret := "disk 93% full on db-1; password=hunter2"
	plain, err := dc.ToPayload(secret)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		seal      *Codec
		open      *Codec
		wantKeyID string
		wantErr   string
	}{
		{name: "same ring", seal: old, open: old, wantKeyID: "k1"},
		{name: "old key still decrypts after rotation", seal: old, open: rotated, wantKeyID: "k1"},
		{name: "new key encrypts after rotation", seal: rotated, open: rotated, wantKeyID: "k2"},
		{name: "key dropped from the ring", seal: rotated, open: old, wantKeyID: "k2", wantErr: `key "k2", which is not configured`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := tt.seal.Encode([]*commonpb.Payload{plain})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(sealed[0].Metadata[MetadataKeyID]); got != tt.wantKeyID {
				t.Errorf("key id = %q, want %q", got, tt.wantKeyID)
			}
			if bytes.Contains(sealed[0].Data, []byte("hunter2")) || bytes.Contains(sealed[0].Data, []byte("json/plain")) {
				t.Errorf("sealed payload holds clear text: %q", sealed[0].Data)
			}
			opened, err := tt.open.Decode(sealed)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if err := dc.FromPayload(opened[0], &got); err != nil || got != secret {
				t.Errorf("round trip = %q, %v", got, err)
			}
		})
	}
}

func TestDecodeRefusesTampering(t *testing.T) {
	k1, k2 := key(t, "k1"), key(t, "k2")
	c, _ := New([]Key{k1, k2})
	plain, _ := converter.GetDefaultDataConverter().ToPayload("approve P1")
	tests := []struct {
		name   string
		modify func(p *commonpb.Payload)
	}{
		{"flipped ciphertext bit", func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 }},
		{"key id swapped to another configured key", func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") }},
		{"truncated", func(p *commonpb.Payload) { p.Data = p.Data[:5] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := c.Encode([]*commonpb.Payload{plain})
			if err != nil {
				t.Fatal(err)
			}
			tt.modify(sealed[0])
			if _, err := c.Decode(sealed); err == nil {
				t.Fatal("Decode accepted an altered payload")
			}
		})
	}
}

func TestDecodePassesClearPayloadsThrough(t *testing.T) {
	c, _ := New([]Key{key(t, "k1")})
	plain, _ := converter.GetDefaultDataConverter().ToPayload("written before encryption")
	out, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || out[0] != plain {
		t.Fatalf("Decode = %v, %v; want the payload unchanged", out, err)
	}
}

func TestNewAndParseKeyRefuseBadKeys(t *testing.T) {
	k := key(t, "k1")
	for _, tt := range []struct {
		name string
		keys []Key
	}{
		{"none", nil},
		{"no id", []Key{{Secret: k.Secret}}},
		{"duplicate id", []Key{k, k}},
		{"short", []Key{{ID: "s", Secret: []byte("short")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.keys); err == nil {
				t.Fatal("New accepted bad keys")
			}
		})
	}
	for _, enc := range []string{"not base64!", "c2hvcnQ="} {
		if _, err := ParseKey("x", enc); err == nil {
			t.Errorf("ParseKey(%q) accepted it", enc)
		}
	}
}

func TestHandler(t *testing.T) {
	c, _ := New([]Key{key(t, "k1")})
	if _, err := Handler(c, HandlerOptions{}); err == nil {
		t.Fatal("Handler without tokens: want an error (anyone could decode)")
	}
	h, err := Handler(c, HandlerOptions{Tokens: []string{"codec-token"}, Origins: []string{"https://ui.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := converter.GetDefaultDataConverter().ToPayload("alert text")
	sealed, _ := c.Encode([]*commonpb.Payload{plain})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	tests := []struct {
		name, method, path, auth, origin string
		wantStatus                       int
		wantBody, wantCORS               string
	}{
		{name: "decode with a token", method: "POST", path: "/decode", auth: "Bearer codec-token", wantStatus: 200, wantBody: "ImFsZXJ0IHRleHQi"}, // base64 of "alert text" in JSON
		{name: "no token", method: "POST", path: "/decode", wantStatus: 401},
		{name: "wrong token", method: "POST", path: "/decode", auth: "Bearer guess", wantStatus: 401},
		{name: "encode is off", method: "POST", path: "/encode", auth: "Bearer codec-token", wantStatus: 404},
		{name: "preflight from the UI", method: "OPTIONS", path: "/decode", origin: "https://ui.example.com", wantStatus: 204, wantCORS: "https://ui.example.com"},
		{name: "preflight from elsewhere", method: "OPTIONS", path: "/decode", origin: "https://evil.example", wantStatus: 204},
		{name: "GET", method: "GET", path: "/decode", auth: "Bearer codec-token", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body %s lacks %q", rec.Body, tt.wantBody)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantCORS {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantCORS)
			}
			if tt.wantStatus != 200 && strings.Contains(rec.Body.String(), "ImFsZXJ0IHRleHQi") {
				t.Errorf("refused request got the clear text")
			}
		})
	}
}
