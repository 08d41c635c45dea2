package dwolla

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Header names Dwolla sets on every webhook delivery.
const (
	SignatureHeader = "X-Request-Signature-SHA-256"
	TopicHeader     = "X-Dwolla-Topic"
	UserAgent       = "dwolla-webhooks/1.1"
)

// MaxSecretLength is the longest webhook secret Dwolla accepts.
const MaxSecretLength = 128

// Signature errors. They say what was wrong without echoing the signature.
var (
	ErrSignatureMissing   = errors.New("missing " + SignatureHeader + " header")
	ErrSignatureMalformed = errors.New(SignatureHeader + " is not a lowercase hex SHA-256 HMAC")
	ErrSignatureMismatch  = errors.New(SignatureHeader + " does not match the body under any configured secret")
)

// Sign returns the lowercase hex HMAC-SHA256 of body under secret, as Dwolla
// computes it over the raw request body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verifier checks webhook signatures against one or more secrets; several are
// accepted at once so a secret can be rotated without losing deliveries.
type Verifier struct {
	secrets [][]byte
}

// NewVerifier returns a Verifier for secrets. Empty secrets are ignored.
func NewVerifier(secrets ...string) *Verifier {
	v := &Verifier{}
	for _, s := range secrets {
		if s != "" {
			v.secrets = append(v.secrets, []byte(s))
		}
	}
	return v
}

// Configured reports whether at least one secret is set.
func (v *Verifier) Configured() bool { return v != nil && len(v.secrets) > 0 }

// Verify checks signature, the header value, against body. The signature must
// be exactly 64 lowercase hex characters: Dwolla sends lowercase, and
// accepting other encodings would only widen what an attacker may try. The
// comparison is constant-time for every secret.
func (v *Verifier) Verify(body []byte, signature string) error {
	if signature == "" {
		return ErrSignatureMissing
	}
	if len(signature) != sha256.Size*2 || !isLowerHex(signature) {
		return ErrSignatureMalformed
	}
	want := make([]byte, sha256.Size)
	if _, err := hex.Decode(want, []byte(signature)); err != nil {
		return ErrSignatureMalformed
	}
	ok := 0
	for _, secret := range v.secrets {
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		// No early exit: the time taken does not tell which secret matched.
		if hmac.Equal(m.Sum(nil), want) {
			ok = 1
		}
	}
	if ok == 0 {
		return ErrSignatureMismatch
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
