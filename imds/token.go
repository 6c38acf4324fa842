package imds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
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

// tokenEncodedLen is a token's length as clients see it.
const tokenEncodedLen = (tokenRawLen*8 + 5) / 6

// encodedToken holds a token as sent.
type encodedToken [tokenEncodedLen]byte

// tokenMinter issues and checks IMDSv2 session tokens.
type tokenMinter struct {
	key [32]byte
	// macs holds keyed HMACs to reuse: checking a token is on every
	// request's path, and a new HMAC costs several allocations. A check
	// is one HMAC of 40 bytes and allocates nothing; a table of tokens
	// already checked cost more than it saved (a new SDK client brings a
	// new token, and storing it allocated).
	macs sync.Pool
	// scratch holds *tokenScratch.
	scratch sync.Pool
}

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
	m.scratch.New = func() any { return new(tokenScratch) }
	return m
}

// tokenScratch is the working memory of issuing or checking a token,
// pooled: hashing through the hash.Hash interface would move it to the
// heap on every request.
type tokenScratch struct {
	raw     [tokenRawLen]byte
	mac     [tokenMACLen]byte
	encoded encodedToken
}

// issue returns a token that is valid until expires.
func (m *tokenMinter) issue(expires time.Time) string {
	s := m.scratch.Get().(*tokenScratch)
	defer m.scratch.Put(s)
	m.issueInto(s, expires)
	return string(s.encoded[:])
}

// issueInto writes a token that is valid until expires into s.encoded.
func (m *tokenMinter) issueInto(s *tokenScratch, expires time.Time) {
	binary.BigEndian.PutUint64(s.raw[:tokenExpiryLen], uint64(expires.Unix()))
	if _, err := rand.Read(s.raw[tokenExpiryLen : tokenExpiryLen+tokenNonceLen]); err != nil {
		panic("imds: no randomness for a token: " + err.Error())
	}
	m.sign(s.raw[:tokenExpiryLen+tokenNonceLen], s.raw[tokenExpiryLen+tokenNonceLen:])
	tokenEncoding.Encode(s.encoded[:], s.raw[:])
}

// valid reports whether token was issued by m and has not expired at now.
func (m *tokenMinter) valid(token string, now time.Time) bool {
	expires, ok := m.verify(token)
	return ok && now.Unix() < expires
}

// verify checks token's MAC and returns the expiry it carries.
func (m *tokenMinter) verify(token string) (int64, bool) {
	if len(token) != tokenEncodedLen {
		return 0, false
	}
	s := m.scratch.Get().(*tokenScratch)
	defer m.scratch.Put(s)
	copy(s.encoded[:], token)
	if n, err := tokenEncoding.Decode(s.raw[:], s.encoded[:]); err != nil || n != tokenRawLen {
		return 0, false
	}
	m.sign(s.raw[:tokenExpiryLen+tokenNonceLen], s.mac[:])
	if !hmac.Equal(s.mac[:], s.raw[tokenExpiryLen+tokenNonceLen:]) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(s.raw[:tokenExpiryLen])), true
}

func (m *tokenMinter) sign(msg, out []byte) {
	mac := m.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(msg)
	mac.Sum(out[:0])
	m.macs.Put(mac)
}
