package gate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrUnauthorized is returned by an Authenticator that refuses credentials.
var ErrUnauthorized = errors.New("unauthorized")

// Authenticator checks the credentials of a client's Hello and returns the
// user it speaks for. A game replaces the default (TicketAuth) with its own
// check: a login service call, a signed token, anything.
type Authenticator func(ctx context.Context, credentials []byte) (user string, err error)

// TicketAuth returns the default Authenticator: a ticket
// "user.expiry.mac" where expiry is Unix seconds and mac the hex
// HMAC-SHA256 of "user.expiry" under secret, issued by a login server
// that shares secret (NewTicket). now is the clock (time.Now when nil).
func TicketAuth(secret []byte, now func() time.Time) Authenticator {
	if now == nil {
		now = time.Now
	}
	key := append([]byte(nil), secret...)
	return func(_ context.Context, cred []byte) (string, error) {
		if len(key) == 0 {
			return "", fmt.Errorf("no ticket secret configured: %w", ErrUnauthorized)
		}
		parts := strings.Split(string(cred), ".")
		if len(parts) != 3 || parts[0] == "" {
			return "", fmt.Errorf("ticket is not user.expiry.mac: %w", ErrUnauthorized)
		}
		exp, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return "", fmt.Errorf("ticket expiry: %w", ErrUnauthorized)
		}
		mac, err := hex.DecodeString(parts[2])
		if err != nil || !hmac.Equal(mac, ticketMAC(key, parts[0], exp)) {
			return "", fmt.Errorf("ticket signature: %w", ErrUnauthorized)
		}
		if now().Unix() > exp {
			return "", fmt.Errorf("ticket expired: %w", ErrUnauthorized)
		}
		return parts[0], nil
	}
}

// NewTicket issues a ticket TicketAuth(secret) accepts until expiry. user
// must not contain '.'.
func NewTicket(secret []byte, user string, expiry time.Time) (string, error) {
	if user == "" || strings.Contains(user, ".") {
		return "", fmt.Errorf("ticket user %q: non-empty, no '.'", user)
	}
	exp := expiry.Unix()
	return user + "." + strconv.FormatInt(exp, 10) + "." + hex.EncodeToString(ticketMAC(secret, user, exp)), nil
}

func ticketMAC(key []byte, user string, exp int64) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("lotou-gate-ticket\x00" + user + "." + strconv.FormatInt(exp, 10)))
	return h.Sum(nil)
}

// NameAuth accepts any user name of 1 to 32 printable characters as the
// credentials: for examples and tests, never for production.
func NameAuth(_ context.Context, cred []byte) (string, error) {
	if len(cred) == 0 || len(cred) > 32 {
		return "", fmt.Errorf("name of %d bytes, want 1 to 32: %w", len(cred), ErrUnauthorized)
	}
	for _, c := range cred {
		if c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("name has a non-printable byte: %w", ErrUnauthorized)
		}
	}
	return string(cred), nil
}
