package keystore

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/dvsekhvalnov/jose2go/aes"
	"github.com/dvsekhvalnov/jose2go/base64url"
)

// The file backend wraps each item's content key with PBES2-HS256+A128KW
// (RFC 7518 §4.8): AES key wrap under a key that PBKDF2-HMAC-SHA256 derives
// from the password, 8192 iterations. jose2go's PBKDF2 allocates a new
// slice on each of the two steps of every iteration: half a megabyte of
// garbage per item read, two reads when a daemon starts, strewn over the
// heap it then keeps. This implementation does the same
// with the standard library's PBKDF2, which allocates nothing per
// iteration (BenchmarkPBES2: 13 allocations against 16,393, and no
// slower). The tokens are the same, readable by jose2go's own, so by any
// other program using the keyring. Registered in place of jose2go's, for
// every file keyring of the process.
func init() { jose.RegisterJwa(pbes2HS256{}) }

const (
	// pbes2Iterations is what jose2go writes; tokens say theirs in p2c.
	pbes2Iterations = 8192
	// pbes2MaxIterations bounds p2c read from a file: a tampered count in
	// the billions would hold the daemon for hours.
	pbes2MaxIterations = 1 << 20
	pbes2SaltLen       = 12 // jose2go's
	pbes2KeyLen        = 16 // A128KW
)

// errDamagedItem is an item whose key-wrapping parameters no keyring
// writes: a damaged or altered file.
var errDamagedItem = errors.New("an item of the encrypted key file is damaged or was altered")

type pbes2HS256 struct{}

func (pbes2HS256) Name() string { return jose.PBES2_HS256_A128KW }

func (pbes2HS256) WrapNewKey(cekSizeBits int, key any, header map[string]any) (cek, encryptedCek []byte, err error) {
	password, ok := key.(string)
	if !ok {
		return nil, nil, errors.New("PBES2-HS256+A128KW: the key must be a password string")
	}
	saltInput := make([]byte, pbes2SaltLen)
	cek = make([]byte, cekSizeBits/8)
	if _, err := rand.Read(saltInput); err != nil {
		return nil, nil, err
	}
	if _, err := rand.Read(cek); err != nil {
		return nil, nil, err
	}
	header["p2c"] = pbes2Iterations
	header["p2s"] = base64url.Encode(saltInput)
	kek, err := pbes2KEK(password, saltInput, pbes2Iterations)
	if err != nil {
		return nil, nil, err
	}
	encryptedCek, err = aes.KeyWrap(cek, kek)
	return cek, encryptedCek, err
}

func (pbes2HS256) Unwrap(encryptedCek []byte, key any, cekSizeBits int, header map[string]any) ([]byte, error) {
	password, ok := key.(string)
	if !ok {
		return nil, errors.New("PBES2-HS256+A128KW: the key must be a password string")
	}
	p2c, ok := header["p2c"].(float64) // a JSON number
	if !ok || p2c < 1 || p2c > pbes2MaxIterations || p2c != float64(int(p2c)) {
		return nil, fmt.Errorf("%w: its PBES2 iteration count (p2c) is missing or out of range", errDamagedItem)
	}
	p2s, ok := header["p2s"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: it has no PBES2 salt (p2s)", errDamagedItem)
	}
	saltInput, err := base64url.Decode(p2s)
	if err != nil {
		return nil, fmt.Errorf("%w: its PBES2 salt (p2s) is not base64url", errDamagedItem)
	}
	kek, err := pbes2KEK(password, saltInput, int(p2c))
	if err != nil {
		return nil, err
	}
	return aes.KeyUnwrap(encryptedCek, kek)
}

// pbes2KEK derives the key-encryption key; the salt is the algorithm's
// name, a zero byte and p2s (RFC 7518 §4.8.1.1).
func pbes2KEK(password string, saltInput []byte, iterations int) ([]byte, error) {
	salt := append([]byte(jose.PBES2_HS256_A128KW+"\x00"), saltInput...)
	return pbkdf2.Key(sha256.New, password, salt, iterations, pbes2KeyLen)
}
