package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// CheckpointType is the type inside every signed checkpoint body. It binds a
// signature to this use of the key, so no other message signed with the same key
// can pass for a checkpoint.
const CheckpointType = "vigil.audit.checkpoint/v1"

// Checkpoint is a signed statement about the audit chain: "record Seq had hash
// Hash". Because every record's hash covers the one before it, a checkpoint
// vouches for the whole chain up to Seq; a chain that is shorter than a
// checkpoint, or differs from it, was truncated or rewritten.
//
// An incident checkpoint also vouches for one incident's records on their own:
// IncidentRecords is how many of the incident's records have seq <= Seq, and
// IncidentDigest is IncidentDigest over them. That lets a third party verify an
// exported incident without the records of other incidents.
type Checkpoint struct {
	N               int64     `json:"n"`
	Seq             int64     `json:"seq"`
	Hash            string    `json:"hash"`
	At              time.Time `json:"at"`
	KeyID           string    `json:"key_id"`
	Incident        string    `json:"incident,omitempty"`
	IncidentRecords int       `json:"incident_records,omitempty"`
	IncidentDigest  string    `json:"incident_digest,omitempty"`
	// Body is the exact signed text and Signature the ed25519 signature over it.
	Body      string `json:"-"`
	Signature []byte `json:"-"`
}

// CheckpointBody is the signed JSON. Field order is fixed by the struct; verifiers
// never re-encode it, they check the signature over the bytes as stored.
type CheckpointBody struct {
	Type            string `json:"type"`
	N               int64  `json:"n"`
	Seq             int64  `json:"seq"`
	Hash            string `json:"hash"`
	At              string `json:"at"`
	KeyID           string `json:"key_id"`
	Incident        string `json:"incident,omitempty"`
	IncidentRecords int    `json:"incident_records,omitempty"`
	IncidentDigest  string `json:"incident_digest,omitempty"`
}

// Signer signs checkpoints with an ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer for key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// KeyID identifies the signer's key (see KeyID).
func (s *Signer) KeyID() string { return s.id }

// PublicKey is the key that verifies the signer's checkpoints.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign makes a checkpoint over the given body fields.
func (s *Signer) Sign(b CheckpointBody) (Checkpoint, error) {
	b.Type, b.KeyID = CheckpointType, s.id
	body, err := json.Marshal(b)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("encode checkpoint: %w", err)
	}
	return checkpointFrom(b, string(body), ed25519.Sign(s.key, body)), nil
}

func checkpointFrom(b CheckpointBody, body string, sig []byte) Checkpoint {
	return Checkpoint{
		N: b.N, Seq: b.Seq, Hash: b.Hash, At: parseTS(b.At), KeyID: b.KeyID,
		Incident: b.Incident, IncidentRecords: b.IncidentRecords, IncidentDigest: b.IncidentDigest,
		Body: body, Signature: sig,
	}
}

// KeyID is the hex of the first 8 bytes of the SHA-256 of the raw 32-byte public
// key. It names a key in checkpoints and bundles; trust comes from the key itself.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Keys are the public keys a verifier trusts, by key id.
type Keys map[string]ed25519.PublicKey

// NewKeys indexes public keys by their id.
func NewKeys(pubs ...ed25519.PublicKey) Keys {
	k := Keys{}
	for _, p := range pubs {
		k[KeyID(p)] = p
	}
	return k
}

// ErrUntrustedKey is returned for a checkpoint signed by a key the verifier was
// not given.
var ErrUntrustedKey = errors.New("signed by a key that is not trusted")

// OpenCheckpoint checks a checkpoint's signature with the trusted keys and decodes
// its body. With keys nil the signature is not checked (the body is still
// decoded strictly); callers that do so must say that signatures went unchecked.
func OpenCheckpoint(body string, sig []byte, keys Keys) (Checkpoint, error) {
	var b CheckpointBody
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return Checkpoint{}, fmt.Errorf("body is not a checkpoint: %w", err)
	}
	if b.Type != CheckpointType {
		return Checkpoint{}, fmt.Errorf("body has type %q, want %q", b.Type, CheckpointType)
	}
	if keys != nil {
		pub, ok := keys[b.KeyID]
		if !ok {
			return Checkpoint{}, fmt.Errorf("key %s: %w", b.KeyID, ErrUntrustedKey)
		}
		if !ed25519.Verify(pub, []byte(body), sig) {
			return Checkpoint{}, fmt.Errorf("signature does not verify with key %s: the checkpoint was altered or forged", b.KeyID)
		}
	}
	return checkpointFrom(b, body, sig), nil
}

// IncidentDigest is the digest an incident checkpoint signs: the hex SHA-256 of
// one line "SEQ HASH\n" (decimal seq, hex hash) per record of the incident, in
// seq order.
func IncidentDigest(records []Record) string {
	d := newIncidentDigest()
	for _, r := range records {
		d.add(r.Seq, r.Hash)
	}
	return d.sum()
}

// incidentDigest accumulates IncidentDigest one record at a time.
type incidentDigest struct {
	h hash.Hash
	n int
}

func newIncidentDigest() *incidentDigest { return &incidentDigest{h: sha256.New()} }

func (d *incidentDigest) add(seq int64, hash string) {
	d.h.Write(strconv.AppendInt(nil, seq, 10))
	d.h.Write([]byte{' '})
	d.h.Write([]byte(hash))
	d.h.Write([]byte{'\n'})
	d.n++
}

func (d *incidentDigest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// ParsePrivateKey reads an ed25519 private key: PKCS#8 PEM ("PRIVATE KEY", as
// `openssl genpkey -algorithm ed25519` writes it) or the base64 of its 32-byte seed.
func ParsePrivateKey(text []byte) (ed25519.PrivateKey, error) {
	if blk, _ := pem.Decode(text); blk != nil {
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit signing key: %w", err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("audit signing key: a %T, want ed25519", k)
		}
		return priv, nil
	}
	seed, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("audit signing key: want PKCS#8 PEM or the base64 of a 32-byte ed25519 seed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParsePublicKey reads an ed25519 public key: PKIX PEM ("PUBLIC KEY") or the
// base64 of its 32 bytes. A private key (as ParsePrivateKey reads) gives its
// public half, so a key file can be passed wherever a public key is wanted.
func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(text); blk != nil {
		if blk.Type == "PRIVATE KEY" {
			priv, err := ParsePrivateKey(text)
			if err != nil {
				return nil, err
			}
			return priv.Public().(ed25519.PublicKey), nil
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: a %T, want ed25519", k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("public key: want PKIX PEM or the base64 of a 32-byte ed25519 key")
	}
	return ed25519.PublicKey(raw), nil
}

// MarshalPrivateKey encodes key as PKCS#8 PEM.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes pub as PKIX PEM.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// StoredCheckpoint is a checkpoint as a store holds it, before its
// signature is checked: its lookup columns beside the signed body.
type StoredCheckpoint struct {
	N, Seq          int64
	Incident, KeyID string
	Body            string
	Signature       []byte
	SignatureErr    error // the stored signature did not decode
}

// Open checks the stored checkpoint's signature (keys nil: unchecked) and that
// its lookup columns say what its signed body says.
func (c StoredCheckpoint) Open(keys Keys) (Checkpoint, error) {
	if c.SignatureErr != nil {
		return Checkpoint{}, fmt.Errorf("signature is not base64: %w", c.SignatureErr)
	}
	cp, err := OpenCheckpoint(c.Body, c.Signature, keys)
	if err != nil {
		return cp, err
	}
	if cp.N != c.N || cp.Seq != c.Seq || cp.Incident != c.Incident || cp.KeyID != c.KeyID {
		return cp, fmt.Errorf("row (n %d, seq %d, incident %q, key %s) differs from its signed body (n %d, seq %d, incident %q, key %s): the row was altered",
			c.N, c.Seq, c.Incident, c.KeyID, cp.N, cp.Seq, cp.Incident, cp.KeyID)
	}
	return cp, nil
}

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
