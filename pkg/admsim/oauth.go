package admsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// tokenStore holds issued access tokens and their expiry. Tokens are random and opaque.
type tokenStore struct {
	mu     sync.Mutex
	issued map[string]time.Time
	count  int
}

func (t *tokenStore) issue(ttl time.Duration) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := time.Now()
	for k, exp := range t.issued {
		if !n.Before(exp) {
			delete(t.issued, k)
		}
	}
	t.issued[tok] = n.Add(ttl)
	t.count++
	return tok
}

func (t *tokenStore) valid(tok string, at time.Time) bool {
	if tok == "" {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.issued[tok]
	return ok && at.Before(exp)
}

// ExpireTokens invalidates every issued token, as a server-side revocation or an expiry
// the client has not noticed yet; the next API call answers 401.
func (s *Server) ExpireTokens() {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	clear(s.tokens.issued)
}

// TokensIssued is how many access tokens /oauth/token has issued.
func (s *Server) TokensIssued() int {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return s.tokens.count
}

// serveToken implements the client-credentials grant (credentials in the form body, as
// Administrate expects, or in HTTP Basic auth).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	okID := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) == 1
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) == 1
	if !okID || !okSecret {
		s.log.Debug("admsim token refused", "reason", "bad client credentials")
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	ttl := s.opts.TokenTTL
	tok := s.tokens.issue(ttl)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int64((ttl + time.Second - 1) / time.Second),
		"scope":        "instance",
	})
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}
