package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

func TestKeyFormats(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := NewSigner(priv)
	pemPriv, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemPub, err := MarshalPublicKey(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	seed := []byte(base64.StdEncoding.EncodeToString(priv.Seed()))
	for name, text := range map[string][]byte{"pkcs8 pem": pemPriv, "base64 seed": seed} {
		k, err := ParsePrivateKey(text)
		if err != nil || NewSigner(k).KeyID() != signer.KeyID() {
			t.Errorf("private %s: %v", name, err)
		}
	}
	for name, text := range map[string][]byte{"pkix pem": pemPub, "base64": []byte(base64.StdEncoding.EncodeToString(signer.PublicKey())), "private key file": pemPriv} {
		k, err := ParsePublicKey(text)
		if err != nil || KeyID(k) != signer.KeyID() {
			t.Errorf("public %s: %v", name, err)
		}
	}
	if _, err := ParsePrivateKey([]byte("hunter2")); err == nil {
		t.Error("a password parsed as a key")
	}
}
