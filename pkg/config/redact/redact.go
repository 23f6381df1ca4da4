// Package redact removes credentials from connection strings and from the
// errors and log lines that quote them. It imports nothing of admsync, so
// every package (config, messaging, database, administrate) may use it.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces every credential.
const redacted = "[redacted]"

// Credentials travel inside connection strings (nats://user:password@host,
// postgres://…?password=…, key=value DSNs), and the libraries that parse them
// echo the whole string in their errors (`parse "nats://u:p@h:abc": invalid
// port`). URL and Error remove them by shape, so they work on
// malformed strings that no URL parser accepts.

// userinfo matches scheme://userinfo@ up to the last @ before the end of
// that URL: a comma (the next URL of a list), whitespace or a quote. A
// password may contain an unescaped '/', '?', '#' or '@', so the authority
// is not assumed to end at them.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)([^\s"'<>,]*@)`)

// secretNames are the parameter names whose values are credentials.
const secretNames = `(?:password|passwd|pwd|pass|sslpassword|secret|client_secret|token|access_token|refresh_token|auth_token|api_key|apikey)`

// secretDSN matches a credential in a key=value connection string
// ("host=db password=… dbname=x"), whose values end at whitespace (or are
// quoted).
var secretDSN = regexp.MustCompile(`(?i)((?:^|[\s"'(])` + secretNames + `\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)`)

// secretParam matches a query-string parameter whose value is a
// credential: ?password=…, &sslpassword=…, ?access_token=….
var secretParam = regexp.MustCompile(`(?i)((?:[?&;,])` + secretNames + `\s*=\s*)([^&\s"'#]*)`)

// URL returns s with every credential it carries replaced by
// [redacted]: the user information of each URL (the user name stays, the
// password goes; a lone user name is kept), and the values of password,
// secret, token and key parameters. s may be one URL, a comma-separated
// list, a key=value connection string or any text that contains them, valid
// or not.
func URL(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "@") {
		s = userinfo.ReplaceAllStringFunc(s, func(m string) string {
			sub := userinfo.FindStringSubmatch(m)
			scheme, info := sub[1], strings.TrimSuffix(sub[2], "@")
			user, _, hasPass := strings.Cut(info, ":")
			if !hasPass {
				// No colon: NATS reads a lone user as a token
				// (nats://TOKEN@host); elsewhere keep what reads like a
				// plain user name.
				if plainUser(info) && !tokenScheme(scheme) {
					return scheme + info + "@"
				}
				return scheme + redacted + "@"
			}
			if !plainUser(user) {
				user = redacted
			}
			return scheme + user + ":" + redacted + "@"
		})
	}
	if strings.Contains(s, "=") {
		s = secretDSN.ReplaceAllString(s, "${1}"+redacted)
		s = secretParam.ReplaceAllString(s, "${1}"+redacted)
	}
	return s
}

// tokenScheme reports whether a URL scheme is one of NATS's, where a user
// without a password is an authentication token.
func tokenScheme(scheme string) bool {
	switch strings.ToLower(strings.TrimSuffix(scheme, "://")) {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

// plainUser reports whether u looks like a user name rather than a secret:
// short, made of the characters people use in user names.
func plainUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}

// Error returns err with credentials removed from its text: the
// shapes URL knows, plus every credential found in known (the
// connection strings the failed call was given), wherever it appears, raw
// or percent-decoded. errors.Is and errors.As still see err; only the text
// changes. A nil err stays nil.
func Error(err error, known ...string) error {
	if err == nil {
		return nil
	}
	msg := Text(err.Error(), known...)
	return &redactedError{msg: msg, err: err}
}

// Text is Error for a string (a log message, a URL list).
func Text(s string, known ...string) string {
	for _, k := range known {
		for _, c := range credentialsIn(k) {
			s = strings.ReplaceAll(s, c, redacted)
		}
	}
	return URL(s)
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// credentialsIn extracts the secret parts of a connection string, valid or
// not, in the forms they may be echoed: as written and percent-decoded.
// Very short values are left alone: replacing every "a" in a message would
// hide the message, not a secret.
func credentialsIn(s string) []string {
	var out []string
	add := func(v string) {
		v = strings.Trim(v, "'")
		if len(v) < 3 {
			return
		}
		out = append(out, v)
		if d, err := url.PathUnescape(v); err == nil && d != v && len(d) >= 3 {
			out = append(out, d)
		}
		if d, err := url.QueryUnescape(v); err == nil && d != v && len(d) >= 3 {
			out = append(out, d)
		}
	}
	for _, m := range userinfo.FindAllStringSubmatch(s, -1) {
		info := strings.TrimSuffix(m[2], "@")
		user, pass, hasPass := strings.Cut(info, ":")
		if hasPass {
			add(pass)
			if !plainUser(user) {
				add(user)
			}
		} else if !plainUser(info) || tokenScheme(m[1]) {
			add(info)
		}
	}
	for _, re := range []*regexp.Regexp{secretDSN, secretParam} {
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			add(m[2])
		}
	}
	// Longest first, so that a password is not half-replaced through a
	// shorter one that it contains.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
