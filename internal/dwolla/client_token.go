package dwolla

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// tokenAnswer is the body of a 200 from POST /token.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func basicAuth(key, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(key + ":" + secret))
}

// token returns a cached application token, fetching a new one when there
// is none or it expires within TokenRefreshMargin. Concurrent callers wait
// for one fetch.
func (c *Client) token(ctx context.Context) (string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.tok != "" && c.now().Before(c.tokExp.Add(-c.opts.TokenRefreshMargin)) {
		return c.tok, nil
	}
	if c.opts.Key == "" || c.opts.Secret == "" {
		return "", ErrNoCredentials
	}
	var ans tokenAnswer
	_, err := c.do(ctx, request{
		method: http.MethodPost, path: "/token", token: true, retrySafe: true,
		form: url.Values{"grant_type": {"client_credentials"}},
	}, &ans)
	if err != nil {
		return "", fmt.Errorf("getting an access token: %w", err)
	}
	if ans.AccessToken == "" || ans.ExpiresIn <= 0 {
		return "", fmt.Errorf("getting an access token: the answer has no token or expiry")
	}
	c.tok = ans.AccessToken
	c.tokExp = c.now().Add(time.Duration(ans.ExpiresIn) * time.Second)
	c.log.Debug("dwolla access token renewed", "expires_in", ans.ExpiresIn)
	return c.tok, nil
}

// dropToken forgets the token sent as authz, if it is still the cached one,
// so the next call fetches a new one.
func (c *Client) dropToken(authz string) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if "Bearer "+c.tok == authz {
		c.tok = ""
	}
}

// Token returns a valid application access token, fetching one if needed.
// Callers rarely need it; the client's methods authenticate themselves.
func (c *Client) Token(ctx context.Context) (string, error) { return c.token(ctx) }
