// Package codec encrypts what Vigil hands Temporal: every workflow and
// activity input and result, signal, update, query answer, memo and
// failure message is sealed with AES-256-GCM before it leaves the process,
// so the people who run the Temporal cluster and its database read no
// alert text, parameter value or chat message in workflow histories.
//
// A Codec holds a key ring. The first key encrypts; every key decrypts, so
// a key is rotated by putting a new one first and keeping the old ones
// until the histories they sealed have aged out of retention. Each payload
// names its key in its metadata (encryption-key-id); payloads that are not
// encrypted (histories written before encryption was turned on) pass
// through Decode unchanged.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata keys and the encoding an encrypted payload carries.
const (
	// MetadataEncoding is the standard payload metadata key Temporal reads.
	MetadataEncoding = converter.MetadataEncoding
	// Encoding marks a payload sealed by this package.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that sealed a payload.
	MetadataKeyID = "encryption-key-id"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Key is one key of the ring: an id stored beside every payload it seals,
// and its 32 bytes.
type Key struct {
	ID     string
	Secret []byte
}

// ParseKey reads a key given as standard base64 of 32 bytes (what
// `openssl rand -base64 32` prints).
func ParseKey(id, encoded string) (Key, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return Key{}, fmt.Errorf("key %q: not base64 (make one with `openssl rand -base64 32`): %w", id, err)
	}
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("key %q: %d bytes, want %d (make one with `openssl rand -base64 32`)", id, len(b), KeySize)
	}
	return Key{ID: id, Secret: b}, nil
}

// NewKey returns a fresh random key, encoded as ParseKey reads it.
func NewKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b)
}

// Codec is a converter.PayloadCodec sealing payloads with AES-256-GCM.
type Codec struct {
	primary string
	aeads   map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec on keys; keys[0] encrypts. Ids must be distinct and
// not empty.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no keys")
	}
	c := &Codec{primary: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("codec: a key has no id")
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key id %q appears twice", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("codec: key %q: %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// Encode seals each payload (metadata and data together) with the primary
// key. The key id is bound to the ciphertext as additional data, so a
// payload's key id cannot be swapped.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.primary]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: encode: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		_, _ = rand.Read(nonce)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(c.primary)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(c.primary)),
		}
	}
	return out, nil
}

// Decode opens payloads this package sealed and passes any other through.
// A payload sealed with a key not in the ring, or altered, is an error.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload sealed with key %q, which is not configured (temporal.encryption.keys)", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("codec: payload sealed with key %q is truncated", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload sealed with key %q does not open (altered, or a different key with that id): %w", id, err)
		}
		var q commonpb.Payload
		if err := proto.Unmarshal(plain, &q); err != nil {
			return nil, fmt.Errorf("codec: payload sealed with key %q: %w", id, err)
		}
		out[i] = &q
	}
	return out, nil
}

// DataConverter wraps Temporal's default converter with c.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter also seals failures' messages and stack traces, which
// Temporal otherwise stores in clear (an activity's error can quote a
// command's output).
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}
