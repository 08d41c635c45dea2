package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/alertchannel"
	"github.com/hooklens/hooklens/internal/usererr"
)

// NewChannel is a channel to create.
type NewChannel struct {
	// Name is unique, e.g. "ops-slack".
	Name string
	// Kind is webhook (generic JSON), slack (Slack-compatible incoming
	// webhook) or log.
	Kind string
	// URL is where webhook and slack channels post (http or https); empty
	// for log channels. Stored sealed; never shown again (see URLHint).
	URL string
	// Secret, optional and for webhook channels only, signs each payload
	// with HMAC-SHA256 (see Sign). Stored sealed; never shown again.
	Secret  string
	Enabled *bool
}

// ChannelPatch changes a channel; nil fields stay as they are. A channel's
// kind never changes: create another channel instead.
type ChannelPatch struct {
	Name *string
	URL  *string
	// Secret replaces the signing secret; "" removes it.
	Secret  *string
	Enabled *bool
}

// Limits of channel fields.
const (
	maxURLLength    = 2048
	minSecretLength = 16
	maxSecretLength = 256
)

// HasSecret reports whether a channel signs its payloads (for the API:
// the secret itself is never shown).
func HasSecret(ch *ent.AlertChannel) bool { return len(ch.SecretSealed) > 0 }

// CreateChannel validates and stores a channel, its URL and secret sealed.
func (s *Service) CreateChannel(ctx context.Context, in NewChannel) (*ent.AlertChannel, error) {
	name, err := checkChannelName(in.Name)
	if err != nil {
		return nil, err
	}
	kind := alertchannel.Kind(strings.TrimSpace(in.Kind))
	if alertchannel.KindValidator(kind) != nil {
		return nil, usererr.Field("kind", "kind: %q is not one of webhook, slack, log", in.Kind)
	}
	create := s.client.AlertChannel.Create().SetName(name).SetKind(kind).SetEnabled(deref(in.Enabled, true))
	switch kind {
	case alertchannel.KindLog:
		if strings.TrimSpace(in.URL) != "" {
			return nil, usererr.Field("url", "url: a log channel has no URL")
		}
		if in.Secret != "" {
			return nil, usererr.Field("secret", "secret: only webhook channels are signed")
		}
	default:
		sealedURL, hint, err := s.sealURL(in.URL)
		if err != nil {
			return nil, err
		}
		create.SetURLSealed(sealedURL).SetURLHint(hint)
		if in.Secret != "" {
			sealed, err := s.sealSecret(kind, in.Secret)
			if err != nil {
				return nil, err
			}
			create.SetSecretSealed(sealed)
		}
	}
	now := s.opts.Now().UTC()
	ch, err := create.SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, usererr.Field("name", "name: a channel named %q exists", name)
	}
	if err != nil {
		return nil, fmt.Errorf("creating channel %q: %w", name, err)
	}
	return ch, nil
}

// UpdateChannel validates and applies a patch.
func (s *Service) UpdateChannel(ctx context.Context, id int, p ChannelPatch) (*ent.AlertChannel, error) {
	ch, err := s.channel(ctx, id)
	if err != nil {
		return nil, err
	}
	upd := ch.Update().SetUpdatedAt(s.opts.Now().UTC())
	if p.Name != nil {
		name, err := checkChannelName(*p.Name)
		if err != nil {
			return nil, err
		}
		upd.SetName(name)
	}
	if p.URL != nil {
		if ch.Kind == alertchannel.KindLog {
			if strings.TrimSpace(*p.URL) != "" {
				return nil, usererr.Field("url", "url: a log channel has no URL")
			}
		} else {
			sealed, hint, err := s.sealURL(*p.URL)
			if err != nil {
				return nil, err
			}
			upd.SetURLSealed(sealed).SetURLHint(hint)
		}
	}
	if p.Secret != nil {
		if *p.Secret == "" {
			upd.ClearSecretSealed()
		} else {
			sealed, err := s.sealSecret(ch.Kind, *p.Secret)
			if err != nil {
				return nil, err
			}
			upd.SetSecretSealed(sealed)
		}
	}
	if p.Enabled != nil {
		upd.SetEnabled(*p.Enabled)
	}
	out, err := upd.Save(ctx)
	if ent.IsConstraintError(err) && p.Name != nil { // the name is the only unique field
		return nil, usererr.Field("name", "name: a channel named %q exists", strings.TrimSpace(*p.Name))
	}
	if err != nil {
		return nil, fmt.Errorf("updating channel %d: %w", id, err)
	}
	return out, nil
}

// SetChannelEnabled turns a channel on or off; a disabled channel receives
// nothing (tests included).
func (s *Service) SetChannelEnabled(ctx context.Context, id int, enabled bool) (*ent.AlertChannel, error) {
	return s.UpdateChannel(ctx, id, ChannelPatch{Enabled: &enabled})
}

// DeleteChannel deletes a channel; rules that used it keep their other
// channels.
func (s *Service) DeleteChannel(ctx context.Context, id int) error {
	err := s.client.AlertChannel.DeleteOneID(id).Exec(ctx)
	if ent.IsNotFound(err) {
		return usererr.New(usererr.NotFound, "no alert channel with id %d", id)
	}
	if err != nil {
		return fmt.Errorf("deleting channel %d: %w", id, err)
	}
	return nil
}

func (s *Service) channel(ctx context.Context, id int) (*ent.AlertChannel, error) {
	ch, err := s.client.AlertChannel.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, usererr.New(usererr.NotFound, "no alert channel with id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading channel %d: %w", id, err)
	}
	return ch, nil
}

func checkChannelName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", usererr.Field("name", "name: give the channel a name")
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", usererr.Field("name", "name: at most 100 characters")
	}
	return name, nil
}

// sealURL checks a channel URL and returns it sealed, with its safe hint.
// Errors never repeat the URL: it may carry a token (Slack's do).
func (s *Service) sealURL(raw string) ([]byte, string, error) {
	u, err := s.checkURL(raw)
	if err != nil {
		return nil, "", err
	}
	sealed, err := s.sealField([]byte(u.String()))
	if err != nil {
		return nil, "", fmt.Errorf("sealing the channel URL: %w", err)
	}
	return sealed, u.Scheme + "://" + u.Host, nil
}

func (s *Service) sealSecret(kind alertchannel.Kind, secret string) ([]byte, error) {
	if kind != alertchannel.KindWebhook {
		return nil, usererr.Field("secret", "secret: only webhook channels are signed")
	}
	if n := len(secret); n < minSecretLength || n > maxSecretLength {
		return nil, usererr.Field("secret", "secret: between %d and %d characters", minSecretLength, maxSecretLength)
	}
	sealed, err := s.sealField([]byte(secret))
	if err != nil {
		return nil, fmt.Errorf("sealing the channel secret: %w", err)
	}
	return sealed, nil
}

// checkURL parses and vets a channel URL: http or https, a host, no
// address hooklens refuses, and on the allow-list when there is one.
func (s *Service) checkURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, usererr.Field("url", "url: required for webhook and slack channels")
	}
	if len(raw) > maxURLLength {
		return nil, usererr.Field("url", "url: at most %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usererr.Field("url", "url: not a valid URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, usererr.Field("url", "url: must start with http:// or https://")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return nil, usererr.Field("url", "url: has no host")
	}
	if addr, err := netip.ParseAddr(host); err == nil && blockedAddr(addr) {
		return nil, usererr.Field("url", "url: %s is a link-local, multicast or unspecified address, which hooklens never calls", host)
	}
	if !s.hosts.allows(host) {
		return nil, usererr.Field("url", "url: host %s is not in HOOKLENS_ALERT_ALLOWED_HOSTS", host)
	}
	u.Fragment = ""
	return u, nil
}

// hostPolicy is the optional allow-list of channel hosts.
type hostPolicy struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
}

func parseHostPolicy(list []string) (hostPolicy, error) {
	p := hostPolicy{exact: map[string]bool{}}
	for _, h := range list {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/:@ ") {
			return p, fmt.Errorf("%q: give a host name only (like hooks.slack.com or *.example.com), without scheme, port or path", h)
		}
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if rest == "" || strings.Contains(rest, "*") {
				return p, fmt.Errorf("%q: a wildcard must look like *.example.com", h)
			}
			p.suffixes = append(p.suffixes, "."+rest)
			continue
		}
		if strings.Contains(h, "*") {
			return p, fmt.Errorf("%q: a wildcard must look like *.example.com", h)
		}
		p.exact[h] = true
	}
	return p, nil
}

// allows reports whether host may be called; everything when the list is empty.
func (p hostPolicy) allows(host string) bool {
	if len(p.exact) == 0 && len(p.suffixes) == 0 {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if p.exact[host] {
		return true
	}
	for _, suf := range p.suffixes {
		if strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}

// metadataAddrs are cloud metadata services outside the link-local range.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// blockedAddr reports addresses hooklens never sends to: link-local (the
// cloud metadata services at 169.254.169.254 live there), multicast,
// unspecified, and known metadata addresses. Loopback and private ranges
// stay allowed: self-hosted receivers (Mattermost, an Alertmanager bridge)
// often live there; HOOKLENS_ALERT_ALLOWED_HOSTS narrows further.
func blockedAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, m := range metadataAddrs {
		if a == m {
			return true
		}
	}
	return false
}

var errBlockedAddr = errors.New("refusing to connect to a link-local, multicast, unspecified or metadata address")

// dialControl runs after DNS resolution, for every address dialled, so a
// name that resolves (or re-resolves) to a refused address is caught too.
func dialControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if a, err := netip.ParseAddr(host); err == nil && blockedAddr(a) {
		return errBlockedAddr
	}
	return nil
}

// sealField seals plain and frames it as encoding, a zero byte, sealed.
func (s *Service) sealField(plain []byte) ([]byte, error) {
	enc, sealed, err := s.sealer.Seal(plain)
	if err != nil {
		return nil, err
	}
	if enc == "" || strings.IndexByte(enc, 0) >= 0 {
		return nil, errors.New("the sealer returned an unusable encoding")
	}
	out := make([]byte, 0, len(enc)+1+len(sealed))
	out = append(out, enc...)
	out = append(out, 0)
	return append(out, sealed...), nil
}

// openField opens a field framed by sealField; empty gives nil.
func (s *Service) openField(stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, nil
	}
	i := bytes.IndexByte(stored, 0)
	if i <= 0 {
		return nil, errors.New("the stored value has no encoding")
	}
	return s.sealer.Open(string(stored[:i]), stored[i+1:])
}
