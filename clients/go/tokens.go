package ksps

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Credentials (spec/protocol.md §10): a static Token, or GetToken called on every (re)connection
// and shortly before the current token's exp. The exp claim is read from the JWT payload
// WITHOUT verifying the signature: the client only needs to know when the server stops
// accepting the token (close 4004); the server does the verifying.

const (
	// refreshLead is how long before exp a long-lived token is refreshed in place.
	refreshLead = 30 * time.Second
	// refreshFraction is the share of a short token's remaining life left when it is refreshed.
	refreshFraction = 0.2
)

// tokenClaims returns the claims of a JWT, unverified; nil when it is not a JWT.
func tokenClaims(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil
	}
	return claims
}

// tokenSubject returns the sub claim of a JWT, the ID the server binds to it; "" when none.
func tokenSubject(token string) string {
	sub, _ := tokenClaims(token)["sub"].(string)
	return sub
}

// tokenExpiry returns the exp claim of a JWT; false when it has none. A fractional exp is
// rounded down: servers (PyJWT) compare its integer part.
func tokenExpiry(token string) (time.Time, bool) {
	exp, ok := tokenClaims(token)["exp"].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(math.Floor(exp)), 0), true
}

// refreshDelay is how long after now a token expiring at expiry should be replaced.
func refreshDelay(expiry, now time.Time) time.Duration {
	remaining := expiry.Sub(now)
	lead := time.Duration(float64(remaining) * refreshFraction)
	if lead > refreshLead {
		lead = refreshLead
	}
	if remaining-lead < 0 {
		return 0
	}
	return remaining - lead
}

// tokenSource holds the current token and fetches the next one.
type tokenSource struct {
	getToken func(ctx context.Context) (string, error)
	mu       sync.Mutex
	current  string
}

// refreshable reports whether GetToken can supply new tokens (auth refusals are then retried).
func (t *tokenSource) refreshable() bool { return t.getToken != nil }

// fetch returns the token for the next (re)connection: a fresh one from GetToken, else Token.
func (t *tokenSource) fetch(ctx context.Context) (string, error) {
	if t.getToken == nil {
		return t.token(), nil
	}
	token, err := t.getToken(ctx)
	if err != nil {
		return "", fmt.Errorf("ksps: GetToken: %w", err)
	}
	t.mu.Lock()
	t.current = token
	t.mu.Unlock()
	return token, nil
}

func (t *tokenSource) token() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.current
}

// refreshIn is how long until the current token should be refreshed in place; false when it
// never needs to be (no GetToken, or a token without exp).
func (t *tokenSource) refreshIn() (time.Duration, bool) {
	if t.getToken == nil {
		return 0, false
	}
	expiry, ok := tokenExpiry(t.token())
	if !ok {
		return 0, false
	}
	return refreshDelay(expiry, time.Now()), true
}
