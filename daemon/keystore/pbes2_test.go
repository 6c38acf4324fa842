package keystore

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/dvsekhvalnov/jose2go/aes"
	"github.com/dvsekhvalnov/jose2go/base64url"
	"github.com/dvsekhvalnov/jose2go/kdf"

	"github.com/mfad/mfad/ipc"
)

// jose2goToken is a PBES2-HS256+A128KW token from jose2go's own test suite
// (password "top secret", 8192 iterations), written by another library
// than this one: what a file keyring holds.
const (
	jose2goToken   = "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwicDJjIjo4MTkyLCJwMnMiOiJiMFlFVmxMemtaNW9UUjBMIn0.dhPAhJ9kmaEbP-02VtEoPOF2QSEYM5085V6zYt1U1qIlVNRcHTGDgQ.4QAAq0dVQT41dQKDG7dhRA.H9MgJmesbU1ow6GCa0lEMwv8A_sHvgaWKkaMcdoj_z6O8LaMSgquxA-G85R_5hEILnHUnFllNJ48oJY7VmAJw0BQW73dMnn58u161S6Ftq7Mjxxq7bcksWvFTVtG5RsqqYSol5BZz5xm8Fcj-y5BMYMvrsCyQhYdeGEHkAvwzRdvZ8pGMsU2XPzl6GqxGjjuRh2vApAeNrj6MwKuD-k6AR0MH46EiNkVCmMkd2w8CNAXjJe9z97zky93xbxlOLozaC3NBRO2Q4bmdGdRg5y4Ew.xNqRi0ouQd7uo5UrPraedg"
	jose2goPayload = `{"exp":1392553211,"sub":"alice","nbf":1392552611,"aud":["https:\/\/app-one.com","https:\/\/app-two.com"],"iss":"https:\/\/openid.net","jti":"586dd129-a29f-49c8-9de7-454af1155e27","iat":1392552611}`
)

// TestPBES2ReadsOthersTokens: the registered implementation reads a token
// another implementation wrote, and refuses the wrong password.
func TestPBES2ReadsOthersTokens(t *testing.T) {
	got, _, err := jose.Decode(jose2goToken, "top secret")
	if err != nil || got != jose2goPayload {
		t.Fatalf("Decode = %q, %v; want jose2go's payload", got, err)
	}
	if _, _, err := jose.Decode(jose2goToken, "top secreT"); err == nil {
		t.Fatal("a wrong password decoded the token")
	}
}

// TestPBES2WritesWhatOthersRead: a token this implementation writes has
// the header jose2go writes (8192 iterations, a 12-byte salt), and its
// content key unwraps under the key jose2go's own PBKDF2 derives: any
// program reading the keyring with jose2go reads mfad's items.
func TestPBES2WritesWhatOthersRead(t *testing.T) {
	token, err := jose.Encrypt("the item", jose.PBES2_HS256_A128KW, jose.A256GCM, "passphrase")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		t.Fatalf("token has %d parts", len(parts))
	}
	rawHeader, err := base64url.Decode(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var header struct {
		Alg string `json:"alg"`
		P2C int    `json:"p2c"`
		P2S string `json:"p2s"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		t.Fatal(err)
	}
	salt, err := base64url.Decode(header.P2S)
	if header.Alg != jose.PBES2_HS256_A128KW || header.P2C != 8192 || err != nil || len(salt) != 12 {
		t.Fatalf("header %s: want alg %s, p2c 8192, a 12-byte p2s", rawHeader, jose.PBES2_HS256_A128KW)
	}
	encryptedKey, err := base64url.Decode(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	kek := kdf.DerivePBKDF2([]byte("passphrase"), append([]byte(header.Alg+"\x00"), salt...), header.P2C, 128, sha256.New)
	if cek, err := aes.KeyUnwrap(encryptedKey, kek); err != nil || len(cek) != 32 {
		t.Fatalf("jose2go's key does not unwrap the content key: %v", err)
	}
	if got, _, err := jose.Decode(token, "passphrase"); err != nil || got != "the item" {
		t.Fatalf("Decode = %q, %v", got, err)
	}
}

// TestPBES2RefusesCosts: a token whose iteration count was tampered with
// is refused at once instead of holding the daemon for hours.
func TestPBES2RefusesCosts(t *testing.T) {
	for _, p2c := range []any{float64(1 << 40), float64(0), float64(-5), 8192.5, "8192", nil} {
		header := map[string]any{"alg": jose.PBES2_HS256_A128KW, "p2s": "b0YEVlLzkZ5oTR0L", "p2c": p2c}
		_, err := pbes2HS256{}.Unwrap(make([]byte, 40), "top secret", 256, header)
		if !errors.Is(err, errDamagedItem) || !strings.Contains(err.Error(), "p2c") {
			t.Errorf("p2c %v: err = %v, want one about p2c", p2c, err)
		}
	}
}

// TestDamagedItem: an item whose iteration count was altered gives an
// error that says so and what to do, not advice about unlocking a keyring.
func TestDamagedItem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keyring")
	s := fileStore(t, dir, "passphrase")
	keys, _ := ParseKeys(testKeyID, testSecret)
	if err := s.PutKeys("default", keys); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir+".v2", "*keys*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("the keys' file: %v %v", files, err)
	}
	token, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	header, err := base64url.Decode(strings.SplitN(string(token), ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	altered := strings.Replace(string(header), `"p2c":8192`, `"p2c":1099511627776`, 1)
	if altered == string(header) {
		t.Fatalf("no p2c of 8192 in %s", header)
	}
	token = []byte(base64url.Encode([]byte(altered)) + "." + strings.SplitN(string(token), ".", 2)[1])
	if err := os.WriteFile(files[0], token, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Keys("default")
	var e *ipc.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "damaged or was altered") || !strings.Contains(e.Hint, "mfad add") {
		t.Fatalf("Keys with an altered item: %v", err)
	}
}

// TestFileItemReadAllocations: reading an item of the file keyring makes
// a few hundred objects, not two per PBKDF2 iteration (jose2go's own made
// 16,400 per read), so that a daemon's start does not strew half a
// megabyte of garbage over the heap it keeps.
func TestFileItemReadAllocations(t *testing.T) {
	ring, err := keyring.Open(keyring.Config{ServiceName: serviceName, AllowedBackends: []keyring.BackendType{keyring.FileBackend},
		FileDir: filepath.Join(t.TempDir(), "keyring"), FilePasswordFunc: keyring.FixedStringPrompt("passphrase")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Set(keyring.Item{Key: "item", Data: []byte("data")}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := ring.Get("item"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1000 {
		t.Fatalf("reading an item made %.0f allocations", allocs)
	}
	t.Logf("%.0f allocations per item read", allocs)
}

// BenchmarkPBES2: the key derivation of one item read, by this
// implementation and by jose2go's PBKDF2.
func BenchmarkPBES2(b *testing.B) {
	saltInput := []byte("b0YEVlLzkZ5o")
	salt := append([]byte(jose.PBES2_HS256_A128KW+"\x00"), saltInput...) // what pbes2KEK hashes
	b.Run("mfad", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pbes2KEK("top secret", saltInput, pbes2Iterations); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jose2go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			kdf.DerivePBKDF2([]byte("top secret"), salt, pbes2Iterations, 128, sha256.New)
		}
	})
}
