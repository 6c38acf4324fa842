package imds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"sync/atomic"
	"time"
)

// Token layout, before base64url encoding:
//
//	[0:8)   expiry, Unix seconds, big endian
//	[8:40)  256 random bits, so no two tokens are alike
//	[40:72) HMAC-SHA256 of bytes [0:40) under the handler's key
//
// Tokens are checked, not looked up: the handler keeps no table that a
// client could grow. A new key invalidates every token, as a reboot does on
// EC2 (clients re-fetch a token on 401); a daemon restarted with the same
// key (Options.TokenKey) keeps them valid, so that a restart goes unseen.
const (
	tokenExpiryLen = 8
	tokenNonceLen  = 32
	tokenMACLen    = sha256.Size
	tokenRawLen    = tokenExpiryLen + tokenNonceLen + tokenMACLen
)

var tokenEncoding = base64.RawURLEncoding

// tokenMinter issues and checks IMDSv2 session tokens.
type tokenMinter struct {
	key [32]byte
	// macs holds keyed HMACs to reuse: checking a token is on every
	// request's path, and a new HMAC costs several allocations.
	macs sync.Pool
	// checked remembers tokens already found valid, with their expiry:
	// an SDK sends the same token with every request for its lifetime, and
	// a lookup costs a fraction of an HMAC. Forged tokens never get in, and
	// the table is emptied when it grows past checkedMax.
	checked      sync.Map // token string -> expiry, Unix seconds (int64)
	checkedCount atomic.Int64
}

const checkedMax = 4096

// TokenKeySize is the length of Options.TokenKey.
const TokenKeySize = 32

// newTokenMinter returns a minter with key, or a random key when key is
// not TokenKeySize bytes.
func newTokenMinter(key []byte) *tokenMinter {
	m := &tokenMinter{}
	if len(key) == TokenKeySize {
		copy(m.key[:], key)
	} else if _, err := rand.Read(m.key[:]); err != nil {
		panic("imds: no randomness for the token key: " + err.Error())
	}
	m.macs.New = func() any { return hmac.New(sha256.New, m.key[:]) }
	return m
}

// issue returns a token that is valid until expires.
func (m *tokenMinter) issue(expires time.Time) string {
	var raw [tokenRawLen]byte
	binary.BigEndian.PutUint64(raw[:tokenExpiryLen], uint64(expires.Unix()))
	if _, err := rand.Read(raw[tokenExpiryLen : tokenExpiryLen+tokenNonceLen]); err != nil {
		panic("imds: no randomness for a token: " + err.Error())
	}
	m.sign(raw[:tokenExpiryLen+tokenNonceLen], raw[tokenExpiryLen+tokenNonceLen:])
	return tokenEncoding.EncodeToString(raw[:])
}

// valid reports whether token was issued by m and has not expired at now.
func (m *tokenMinter) valid(token string, now time.Time) bool {
	if expires, ok := m.checked.Load(token); ok {
		return now.Unix() < expires.(int64)
	}
	expires, ok := m.verify(token)
	if !ok {
		return false
	}
	if m.checkedCount.Add(1) > checkedMax {
		m.checked.Clear()
		m.checkedCount.Store(0)
	}
	m.checked.Store(token, expires)
	return now.Unix() < expires
}

// verify checks token's MAC and returns the expiry it carries.
func (m *tokenMinter) verify(token string) (int64, bool) {
	const encodedLen = (tokenRawLen*8 + 5) / 6
	if len(token) != encodedLen {
		return 0, false
	}
	var encoded [encodedLen]byte
	copy(encoded[:], token)
	var raw [tokenRawLen]byte
	if n, err := tokenEncoding.Decode(raw[:], encoded[:]); err != nil || n != tokenRawLen {
		return 0, false
	}
	var want [tokenMACLen]byte
	m.sign(raw[:tokenExpiryLen+tokenNonceLen], want[:])
	if !hmac.Equal(want[:], raw[tokenExpiryLen+tokenNonceLen:]) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(raw[:tokenExpiryLen])), true
}

func (m *tokenMinter) sign(msg, out []byte) {
	mac := m.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(msg)
	mac.Sum(out[:0])
	m.macs.Put(mac)
}
