// Package config declares every hooklens setting in one table: its
// environment variable, flag, default, validation and whether it is secret.
//
// Precedence, lowest first: default, a .env file in the working directory,
// the process environment, command-line flags. Config is a plain value handed
// to constructors; there is no global configuration.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/hooklens/hooklens/internal/netguard"
	"github.com/hooklens/hooklens/internal/vault"
)

// Config is the validated configuration of one hooklens process.
type Config struct {
	TrustedProxies     []netip.Prefix
	WebhookAllow       []netip.Prefix
	WebhookSourceLimit netguard.Rate
	WebhookGlobalLimit netguard.Rate
	SignInLimit        netguard.Rate
	RetentionDays      int
	// RejectedRetentionDays keeps rejected deliveries this many days (0: as
	// long as events).
	RejectedRetentionDays int
	AuditCheckpoint       string

	Addr           string
	PublicURL      string
	DatabaseURL    string
	WebhookSecrets []string
	LogLevel       slog.Level
	LogFormat      string
	MaxBodyBytes   int64
	IngestTimeout  time.Duration
	AllowedOrigins []string
	SessionTTL     time.Duration
	ShutdownGrace  time.Duration

	// MaxConnections bounds open client connections (0: three quarters of
	// the file limit); SourceConnections bounds one client address's.
	MaxConnections    int
	SourceConnections int

	// GraphQLTimeout bounds one GraphQL query or mutation.
	GraphQLTimeout time.Duration
	// GraphQLMaxResponse bounds the bytes one query or mutation produces.
	GraphQLMaxResponse int64

	Workers      int
	MaxAttempts  int
	StuckSweep   string
	AbandonSweep string

	DwollaEnv           string
	DwollaAPIURL        string
	DwollaKey           string
	DwollaSecret        string
	DwollaAPITimeout    time.Duration
	DwollaWebhookURL    string
	DwollaAutoRedeliver bool
	SyncSchedule        string
	SyncWindow          time.Duration
	ReconcileSchedule   string
	ReconcileWindow     time.Duration
	// Enrich, EnrichRate and EnrichPersonalData configure enrichment
	// (internal/enrich): on or off, requests per second, display names.
	Enrich             bool
	EnrichRate         float64
	EnrichPersonalData bool

	AlertSchedule     string
	AlertAllowedHosts []string
	AlertTimeout      time.Duration

	// PprofAddr, when set, serves net/http/pprof on a separate listener.
	PprofAddr string

	// SQLiteCacheMB bounds SQLite's page cache, all connections together.
	SQLiteCacheMB int

	// EncryptionKeys is HOOKLENS_ENCRYPTION_KEYS as given (validated); the
	// app parses it into a vault.Keyring.
	EncryptionKeys string
}

// SQLiteCacheBytes is HOOKLENS_SQLITE_CACHE_MB in bytes (0 when unset,
// which the store reads as its default).
func (c Config) SQLiteCacheBytes() int64 { return int64(c.SQLiteCacheMB) << 20 }

// DwollaConfigured reports whether API credentials are set.
func (c Config) DwollaConfigured() bool { return c.DwollaKey != "" && c.DwollaSecret != "" }

// WebhookURL is the URL Dwolla should deliver to: DWOLLA_WEBHOOK_URL, or
// the public URL plus the receiver's path.
func (c Config) WebhookURL() string {
	if c.DwollaWebhookURL != "" {
		return c.DwollaWebhookURL
	}
	return c.BaseURL() + "/api/webhooks/dwolla/v2"
}

// Postgres reports whether DatabaseURL names a PostgreSQL database.
func (c Config) Postgres() bool { return IsPostgresURL(c.DatabaseURL) }

// IsPostgresURL reports whether u is a postgres:// or postgresql:// URL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// BaseURL is the URL people use to reach this instance, for printed links.
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Setting is one row of the configuration table.
type Setting struct {
	Env     string
	Flag    string
	Default string
	Usage   string
	Secret  bool
	apply   func(c *Config, v string) error
}

// Settings is the configuration table. The README's table mirrors it; a test
// keeps the two in step.
var Settings = []Setting{
	{Env: "HOOKLENS_TRUSTED_PROXIES", Flag: "trusted-proxies",
		Usage: "Reverse proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For is believed. Unset: the peer address is the client.",
		apply: prefixSetting(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })},
	{Env: "HOOKLENS_WEBHOOK_ALLOW", Flag: "webhook-allow",
		Usage: "Only these sources (CIDRs or addresses) may deliver webhooks (403 otherwise). Dwolla does not publish its addresses: leave unset unless Dwolla reaches you through a fixed egress.",
		apply: prefixSetting(func(c *Config) *[]netip.Prefix { return &c.WebhookAllow })},
	{Env: "HOOKLENS_WEBHOOK_SOURCE_LIMIT", Flag: "webhook-source-limit", Default: "5/s:50",
		Usage: "Rejected webhook deliveries (bad signature, malformed, too large) allowed per source address, as RATE/UNIT:BURST; past it the source gets 429. off disables.",
		apply: rateSetting(func(c *Config) *netguard.Rate { return &c.WebhookSourceLimit })},
	{Env: "HOOKLENS_WEBHOOK_GLOBAL_LIMIT", Flag: "webhook-global-limit", Default: "5000/s:10000",
		Usage: "All webhook deliveries together, as RATE/UNIT:BURST; past it 429. off disables.",
		apply: rateSetting(func(c *Config) *netguard.Rate { return &c.WebhookGlobalLimit })},
	{Env: "HOOKLENS_SIGNIN_LIMIT", Flag: "signin-limit", Default: "10/m:10",
		Usage: "Failed sign-ins and bad bearer tokens allowed per client address, as RATE/UNIT:BURST; past it 429. off disables.",
		apply: rateSetting(func(c *Config) *netguard.Rate { return &c.SignInLimit })},
	{Env: "HOOKLENS_RETENTION_DAYS", Flag: "retention-days", Default: "0",
		Usage: "Delete events (with their deliveries) older than this many days; rollups and the audit trail stay. 0 keeps everything.",
		apply: intSetting(func(c *Config) *int { return &c.RetentionDays }, 0, 36500)},
	{Env: "HOOKLENS_REJECTED_RETENTION_DAYS", Flag: "rejected-retention-days", Default: "7",
		Usage: "Delete rejected webhook deliveries (bad signature, malformed, too large, rate limited) older than this many days, whatever HOOKLENS_RETENTION_DAYS says; 0 keeps them as long as events.",
		apply: intSetting(func(c *Config) *int { return &c.RejectedRetentionDays }, 0, 36500)},
	{Env: "HOOKLENS_AUDIT_CHECKPOINT", Flag: "audit-checkpoint", Default: "10m",
		Usage: "How often the audit trail checkpoints the stored events' body hashes: a duration or a cron expression.",
		apply: scheduleSetting(func(c *Config) *string { return &c.AuditCheckpoint })},
	{Env: "HOOKLENS_ADDR", Flag: "addr", Default: "127.0.0.1:8080",
		Usage: "Address to listen on (host:port).",
		apply: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("must be host:port, like 127.0.0.1:8080 or :8080")
			}
			c.Addr = v
			return nil
		}},
	{Env: "HOOKLENS_PUBLIC_URL", Flag: "public-url",
		Usage: "URL people and Dwolla use to reach hooklens, for printed links (default: derived from HOOKLENS_ADDR).",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("must be an absolute http(s) URL")
			}
			c.PublicURL = v
			return nil
		}},
	{Env: "DATABASE_URL", Flag: "database-url", Default: "./data/hooklens.db",
		Usage: "SQLite file path (embedded, the default) or postgres://user:pass@host/db.", Secret: true,
		apply: func(c *Config, v string) error {
			if v == "" {
				return fmt.Errorf("must not be empty")
			}
			if IsPostgresURL(v) {
				if _, err := url.Parse(v); err != nil {
					return fmt.Errorf("is not a valid postgres URL")
				}
			} else if strings.Contains(v, "://") && !strings.HasPrefix(v, "file:") {
				return fmt.Errorf("must be a SQLite path or a postgres:// URL")
			}
			c.DatabaseURL = v
			return nil
		}},
	{Env: "DWOLLA_WEBHOOK_SECRET", Flag: "webhook-secret", Secret: true,
		Usage: "Webhook subscription secret(s), comma-separated to accept several during a rotation. Unset: the receiver answers 503.",
		apply: func(c *Config, v string) error {
			c.WebhookSecrets = nil
			for _, s := range strings.Split(v, ",") {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				if len(s) > 128 {
					return fmt.Errorf("each secret must be at most 128 characters, as Dwolla requires")
				}
				c.WebhookSecrets = append(c.WebhookSecrets, s)
			}
			return nil
		}},
	{Env: "HOOKLENS_LOG_LEVEL", Flag: "log-level", Default: "info",
		Usage: "debug, info, warn or error.",
		apply: func(c *Config, v string) error {
			switch strings.ToLower(v) {
			case "debug":
				c.LogLevel = slog.LevelDebug
			case "info":
				c.LogLevel = slog.LevelInfo
			case "warn", "warning":
				c.LogLevel = slog.LevelWarn
			case "error":
				c.LogLevel = slog.LevelError
			default:
				return fmt.Errorf("must be debug, info, warn or error")
			}
			return nil
		}},
	{Env: "HOOKLENS_LOG_FORMAT", Flag: "log-format", Default: "text",
		Usage: "text or json.",
		apply: func(c *Config, v string) error {
			v = strings.ToLower(v)
			if v != "text" && v != "json" {
				return fmt.Errorf("must be text or json")
			}
			c.LogFormat = v
			return nil
		}},
	{Env: "HOOKLENS_MAX_BODY_BYTES", Flag: "max-body-bytes", Default: "1048576",
		Usage: "Largest webhook body accepted; larger ones get 413.",
		apply: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 || n > 64<<20 {
				return fmt.Errorf("must be a number of bytes between 1024 and 67108864")
			}
			c.MaxBodyBytes = n
			return nil
		}},
	{Env: "HOOKLENS_INGEST_TIMEOUT", Flag: "ingest-timeout", Default: "5s",
		Usage: "Longest a webhook waits for its durable commit before 503 (Dwolla gives up after 10s).",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.IngestTimeout }, 100*time.Millisecond, 9*time.Second)},
	{Env: "HOOKLENS_MAX_CONNECTIONS", Flag: "max-connections", Default: "0",
		Usage: "Most client connections held open at once; more get 503 at accept (0: three quarters of the process's file limit).",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("must be 0 (automatic) or a number of connections")
			}
			c.MaxConnections = n
			return nil
		}},
	{Env: "HOOKLENS_SOURCE_CONNECTIONS", Flag: "source-connections", Default: "256",
		Usage: "Most connections one client address (IPv6: one /64) may hold open; HOOKLENS_TRUSTED_PROXIES are exempt; 0 turns the cap off.",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("must be a number of connections (0: no per-source cap)")
			}
			c.SourceConnections = n
			return nil
		}},
	{Env: "HOOKLENS_GRAPHQL_TIMEOUT", Flag: "graphql-timeout", Default: "20s",
		Usage: "Longest one GraphQL query or mutation may run before it is stopped with a TIMEOUT error.",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.GraphQLTimeout }, time.Second, 55*time.Second)},
	{Env: "HOOKLENS_GRAPHQL_MAX_RESPONSE", Flag: "graphql-max-response", Default: "16777216",
		Usage: "Largest answer in bytes one GraphQL query or mutation may produce; a larger one gets a RESPONSE_TOO_LARGE error instead.",
		apply: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 64<<10 || n > 1<<30 {
				return fmt.Errorf("must be a number of bytes between 65536 and 1073741824")
			}
			c.GraphQLMaxResponse = n
			return nil
		}},
	{Env: "HOOKLENS_ALLOWED_ORIGINS", Flag: "allowed-origins",
		Usage: "Extra browser origins (comma-separated, e.g. https://ops.example.com) allowed for websockets and CORS; the server's own origin is always allowed.",
		apply: func(c *Config, v string) error {
			c.AllowedOrigins = nil
			for _, o := range strings.Split(v, ",") {
				o = strings.TrimSpace(o)
				if o == "" {
					continue
				}
				u, err := url.Parse(o)
				if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
					return fmt.Errorf("%q is not an origin like https://host[:port]", o)
				}
				c.AllowedOrigins = append(c.AllowedOrigins, u.Scheme+"://"+u.Host)
			}
			return nil
		}},
	{Env: "HOOKLENS_SESSION_TTL", Flag: "session-ttl", Default: "168h",
		Usage: "How long a dashboard sign-in lasts.",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.SessionTTL }, time.Minute, 90*24*time.Hour)},
	{Env: "HOOKLENS_WORKERS", Flag: "workers", Default: "0",
		Usage: "Pipeline workers on this instance; 0 picks 2 on SQLite and 4 on PostgreSQL.",
		apply: intSetting(func(c *Config) *int { return &c.Workers }, 0, 64)},
	{Env: "HOOKLENS_MAX_ATTEMPTS", Flag: "max-attempts", Default: "8",
		Usage: "Processing attempts before an event is dead-lettered.",
		apply: intSetting(func(c *Config) *int { return &c.MaxAttempts }, 1, 50)},
	{Env: "HOOKLENS_STUCK_SWEEP", Flag: "stuck-sweep", Default: "1m",
		Usage: "How often journeys past their step's time limit are marked stuck: a duration or a cron expression.",
		apply: scheduleSetting(func(c *Config) *string { return &c.StuckSweep })},
	{Env: "HOOKLENS_ABANDON_SWEEP", Flag: "abandon-sweep", Default: "15m",
		Usage: "How often long-idle journeys are closed as abandoned: a duration or a cron expression.",
		apply: scheduleSetting(func(c *Config) *string { return &c.AbandonSweep })},
	{Env: "DWOLLA_ENV", Flag: "dwolla-env", Default: "sandbox",
		Usage: "Dwolla environment for the API: sandbox or production.",
		apply: func(c *Config, v string) error {
			v = strings.ToLower(strings.TrimSpace(v))
			if v != "sandbox" && v != "production" {
				return fmt.Errorf("must be sandbox or production")
			}
			c.DwollaEnv = v
			return nil
		}},
	{Env: "DWOLLA_API_URL", Flag: "dwolla-api-url",
		Usage: "Dwolla API root to use instead of DWOLLA_ENV's (a proxy, or the fake: hooklens fake-dwolla).",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				return fmt.Errorf("must be an absolute http(s) URL without credentials")
			}
			c.DwollaAPIURL = strings.TrimRight(v, "/")
			return nil
		}},
	{Env: "DWOLLA_KEY", Flag: "dwolla-key", Secret: true,
		Usage: "Dwolla application key (client id) for the API: sync, reconciliation, subscriptions. Set with DWOLLA_SECRET.",
		apply: func(c *Config, v string) error { c.DwollaKey = strings.TrimSpace(v); return nil }},
	{Env: "DWOLLA_SECRET", Flag: "dwolla-secret", Secret: true,
		Usage: "Dwolla application secret. Set with DWOLLA_KEY.",
		apply: func(c *Config, v string) error { c.DwollaSecret = strings.TrimSpace(v); return nil }},
	{Env: "DWOLLA_API_TIMEOUT", Flag: "dwolla-api-timeout", Default: "30s",
		Usage: "Longest one Dwolla API request may take.",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.DwollaAPITimeout }, time.Second, 2*time.Minute)},
	{Env: "DWOLLA_WEBHOOK_URL", Flag: "dwolla-webhook-url",
		Usage: "The URL Dwolla delivers to, to find our subscription (default: HOOKLENS_PUBLIC_URL + /api/webhooks/dwolla/v2).",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("must be an absolute http(s) URL")
			}
			c.DwollaWebhookURL = v
			return nil
		}},
	{Env: "DWOLLA_AUTO_REDELIVER", Flag: "dwolla-auto-redeliver", Default: "false",
		Usage: "Ask Dwolla to redeliver failed and never-sent webhooks that reconciliation finds.",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be true or false")
			}
			c.DwollaAutoRedeliver = b
			return nil
		}},
	{Env: "HOOKLENS_SYNC_SCHEDULE", Flag: "sync-schedule", Default: "0 3 * * 0",
		Usage: "When to import missed events from Dwolla's Events API: a cron expression (UTC) or a duration; \"off\" disables it.",
		apply: optionalScheduleSetting(func(c *Config) *string { return &c.SyncSchedule })},
	{Env: "HOOKLENS_SYNC_WINDOW", Flag: "sync-window", Default: "168h",
		Usage: "How far back a scheduled sync looks (Dwolla keeps events 30 days).",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.SyncWindow }, time.Minute, 30*24*time.Hour)},
	{Env: "HOOKLENS_RECONCILE_SCHEDULE", Flag: "reconcile-schedule", Default: "1h",
		Usage: "When to reconcile against Dwolla and check consistency: a duration or a cron expression (UTC); \"off\" disables it.",
		apply: optionalScheduleSetting(func(c *Config) *string { return &c.ReconcileSchedule })},
	{Env: "HOOKLENS_RECONCILE_WINDOW", Flag: "reconcile-window", Default: "24h",
		Usage: "How far back reconciliation compares events and deliveries with Dwolla.",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.ReconcileWindow }, time.Minute, 30*24*time.Hour)},
	{Env: "HOOKLENS_ENRICH", Flag: "enrich", Default: "true",
		Usage: "Fetch the transfer, customer and funding source each event names from Dwolla's API (needs DWOLLA_KEY and DWOLLA_SECRET).",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be true or false")
			}
			c.Enrich = b
			return nil
		}},
	{Env: "HOOKLENS_ENRICH_RATE", Flag: "enrich-rate", Default: "5",
		Usage: "Most Dwolla API requests per second enrichment makes (0.1 to 100).",
		apply: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0.1 || f > 100 {
				return fmt.Errorf("must be a number from 0.1 to 100")
			}
			c.EnrichRate = f
			return nil
		}},
	{Env: "HOOKLENS_ENRICH_PERSONAL_DATA", Flag: "enrich-personal-data", Default: "false",
		Usage: "Also keep customers' and banks' names from Dwolla (never emails or account numbers).",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be true or false")
			}
			c.EnrichPersonalData = b
			return nil
		}},
	{Env: "HOOKLENS_ALERT_SCHEDULE", Flag: "alert-schedule", Default: "1m",
		Usage: "How often alert rules are evaluated: a duration or a cron expression (UTC); \"off\" disables alerting.",
		apply: optionalScheduleSetting(func(c *Config) *string { return &c.AlertSchedule })},
	{Env: "HOOKLENS_ALERT_ALLOWED_HOSTS", Flag: "alert-allowed-hosts",
		Usage: "Hosts alert webhooks may be sent to (comma-separated, *.example.com allowed); empty allows any host but never link-local or cloud metadata addresses.",
		apply: func(c *Config, v string) error {
			c.AlertAllowedHosts = nil
			for _, h := range strings.Split(v, ",") {
				h = strings.ToLower(strings.TrimSpace(h))
				if h == "" {
					continue
				}
				if strings.ContainsAny(h, "/:@ ") {
					return fmt.Errorf("%q is not a host name (no scheme, port or path)", h)
				}
				c.AlertAllowedHosts = append(c.AlertAllowedHosts, h)
			}
			return nil
		}},
	{Env: "HOOKLENS_ALERT_TIMEOUT", Flag: "alert-timeout", Default: "5s",
		Usage: "Longest one alert notification may take per attempt.",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.AlertTimeout }, time.Second, 30*time.Second)},
	{Env: "HOOKLENS_ENCRYPTION_KEYS", Flag: "encryption-keys", Secret: true,
		Usage: "Keys encrypting webhook bodies and alert-channel secrets at rest (AES-256-GCM): comma-separated id:key, key as 32 bytes base64 or 64 hex; the first seals, the others only open (rotation). Generate one with hooklens keys generate.",
		apply: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if v != "" {
				if _, err := vault.ParseKeys(v); err != nil {
					return err
				}
			}
			c.EncryptionKeys = v
			return nil
		}},
	{Env: "HOOKLENS_PPROF_ADDR", Flag: "pprof-addr",
		Usage: "Serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; unset (the default) serves nothing. Keep it on loopback: it is not authenticated.",
		apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("must be host:port, like 127.0.0.1:6060")
			}
			c.PprofAddr = v
			return nil
		}},
	{Env: "HOOKLENS_SQLITE_CACHE_MB", Flag: "sqlite-cache-mb", Default: "64",
		Usage: "SQLite only: MiB of page cache for all database connections together (the writer gets half, the readers share the rest; memory mapping is off), so memory does not grow with the history.",
		apply: intSetting(func(c *Config) *int { return &c.SQLiteCacheMB }, 8, 4096)},
	{Env: "HOOKLENS_SHUTDOWN_GRACE", Flag: "shutdown-grace", Default: "15s",
		Usage: "How long shutdown waits for in-flight requests and work.",
		apply: durationSetting(func(c *Config) *time.Duration { return &c.ShutdownGrace }, time.Second, 5*time.Minute)},
}

func prefixSetting(field func(*Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		ps, err := netguard.ParsePrefixes(v)
		if err != nil {
			return err
		}
		*field(c) = ps
		return nil
	}
}

func rateSetting(field func(*Config) *netguard.Rate) func(*Config, string) error {
	return func(c *Config, v string) error {
		r, err := netguard.ParseRate(v)
		if err != nil {
			return err
		}
		*field(c) = r
		return nil
	}
}

func prefixesString(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func intSetting(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

// scheduleSetting accepts a duration (an interval of at least a second) or
// a cron expression; the scheduler checks cron syntax when it starts.
func scheduleSetting(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "" {
			return fmt.Errorf("must be a duration like 1m or a cron expression like */5 * * * *")
		}
		if d, err := time.ParseDuration(v); err == nil && d < time.Second {
			return fmt.Errorf("must be at least 1s")
		}
		*field(c) = v
		return nil
	}
}

// optionalScheduleSetting is scheduleSetting that also accepts "off".
func optionalScheduleSetting(field func(*Config) *string) func(*Config, string) error {
	inner := scheduleSetting(field)
	return func(c *Config, v string) error {
		if strings.EqualFold(strings.TrimSpace(v), "off") {
			*field(c) = "off"
			return nil
		}
		return inner(c, v)
	}
}

func durationSetting(field func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("must be a duration between %s and %s, like 5s or 2m", lo, hi)
		}
		*field(c) = d
		return nil
	}
}

// Loader binds the settings to a flag set and then resolves them.
type Loader struct {
	flags map[string]*string
	fs    *flag.FlagSet
}

// Bind registers one flag per setting on fs.
func Bind(fs *flag.FlagSet) *Loader {
	l := &Loader{flags: map[string]*string{}, fs: fs}
	for _, s := range Settings {
		usage := s.Usage + " [" + s.Env + "]"
		l.flags[s.Flag] = fs.String(s.Flag, "", usage)
	}
	return l
}

// Lookup finds a value by environment variable name.
type Lookup func(key string) (string, bool)

// Environment returns a Lookup over the process environment and, beneath it,
// the .env file in dir (if any). A missing .env is not an error; a malformed
// one is.
func Environment(dir string) (Lookup, error) {
	dotenv := map[string]string{}
	path := filepath.Join(dir, ".env")
	if _, err := os.Stat(path); err == nil {
		m, err := godotenv.Read(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		dotenv = m
	}
	return func(key string) (string, bool) {
		if v, ok := os.LookupEnv(key); ok {
			return v, true
		}
		v, ok := dotenv[key]
		return v, ok
	}, nil
}

// Load resolves every setting. Errors name the variable and say what is
// expected, never the (possibly secret) value.
func (l *Loader) Load(lookup Lookup) (Config, error) {
	set := map[string]bool{}
	if l != nil && l.fs != nil {
		l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	}
	var c Config
	var errs []error
	for _, s := range Settings {
		v, source := s.Default, ""
		if lookup != nil {
			if ev, ok := lookup(s.Env); ok {
				v, source = ev, s.Env
			}
		}
		if l != nil && set[s.Flag] {
			v, source = *l.flags[s.Flag], "--"+s.Flag
		}
		if err := s.apply(&c, v); err != nil {
			name := s.Env
			if source != "" && source != s.Env {
				name = source + " (" + s.Env + ")"
			}
			errs = append(errs, fmt.Errorf("%s %w", name, err))
		}
	}
	if (c.DwollaKey == "") != (c.DwollaSecret == "") {
		errs = append(errs, fmt.Errorf("DWOLLA_KEY and DWOLLA_SECRET must be set together"))
	}
	return c, errors.Join(errs...)
}

// Redacted lists every setting with its effective value, secrets masked,
// sorted by variable name.
func (c Config) Redacted() [][2]string {
	values := map[string]string{
		"HOOKLENS_TRUSTED_PROXIES":         prefixesString(c.TrustedProxies),
		"HOOKLENS_WEBHOOK_ALLOW":           prefixesString(c.WebhookAllow),
		"HOOKLENS_WEBHOOK_SOURCE_LIMIT":    c.WebhookSourceLimit.String(),
		"HOOKLENS_WEBHOOK_GLOBAL_LIMIT":    c.WebhookGlobalLimit.String(),
		"HOOKLENS_SIGNIN_LIMIT":            c.SignInLimit.String(),
		"HOOKLENS_RETENTION_DAYS":          strconv.Itoa(c.RetentionDays),
		"HOOKLENS_REJECTED_RETENTION_DAYS": strconv.Itoa(c.RejectedRetentionDays),
		"HOOKLENS_AUDIT_CHECKPOINT":        c.AuditCheckpoint,
		"HOOKLENS_ADDR":                    c.Addr,
		"HOOKLENS_PUBLIC_URL":              c.PublicURL,
		"DATABASE_URL":                     RedactURL(c.DatabaseURL),
		"DWOLLA_WEBHOOK_SECRET":            maskList(c.WebhookSecrets),
		"HOOKLENS_LOG_LEVEL":               strings.ToLower(c.LogLevel.String()),
		"HOOKLENS_LOG_FORMAT":              c.LogFormat,
		"HOOKLENS_MAX_BODY_BYTES":          strconv.FormatInt(c.MaxBodyBytes, 10),
		"HOOKLENS_INGEST_TIMEOUT":          c.IngestTimeout.String(),
		"HOOKLENS_MAX_CONNECTIONS":         strconv.Itoa(c.MaxConnections),
		"HOOKLENS_SOURCE_CONNECTIONS":      strconv.Itoa(c.SourceConnections),
		"HOOKLENS_GRAPHQL_TIMEOUT":         c.GraphQLTimeout.String(),
		"HOOKLENS_GRAPHQL_MAX_RESPONSE":    strconv.FormatInt(c.GraphQLMaxResponse, 10),
		"HOOKLENS_ALLOWED_ORIGINS":         strings.Join(c.AllowedOrigins, ","),
		"HOOKLENS_SESSION_TTL":             c.SessionTTL.String(),
		"HOOKLENS_SHUTDOWN_GRACE":          c.ShutdownGrace.String(),
		"HOOKLENS_WORKERS":                 strconv.Itoa(c.Workers),
		"HOOKLENS_MAX_ATTEMPTS":            strconv.Itoa(c.MaxAttempts),
		"HOOKLENS_STUCK_SWEEP":             c.StuckSweep,
		"HOOKLENS_ABANDON_SWEEP":           c.AbandonSweep,
		"DWOLLA_ENV":                       c.DwollaEnv,
		"DWOLLA_API_URL":                   c.DwollaAPIURL,
		"DWOLLA_KEY":                       maskSecret(c.DwollaKey),
		"DWOLLA_SECRET":                    maskSecret(c.DwollaSecret),
		"DWOLLA_API_TIMEOUT":               c.DwollaAPITimeout.String(),
		"DWOLLA_WEBHOOK_URL":               c.DwollaWebhookURL,
		"DWOLLA_AUTO_REDELIVER":            strconv.FormatBool(c.DwollaAutoRedeliver),
		"HOOKLENS_SYNC_SCHEDULE":           c.SyncSchedule,
		"HOOKLENS_SYNC_WINDOW":             c.SyncWindow.String(),
		"HOOKLENS_RECONCILE_SCHEDULE":      c.ReconcileSchedule,
		"HOOKLENS_RECONCILE_WINDOW":        c.ReconcileWindow.String(),
		"HOOKLENS_ENRICH":                  strconv.FormatBool(c.Enrich),
		"HOOKLENS_ENRICH_RATE":             strconv.FormatFloat(c.EnrichRate, 'g', -1, 64),
		"HOOKLENS_ENRICH_PERSONAL_DATA":    strconv.FormatBool(c.EnrichPersonalData),
		"HOOKLENS_ALERT_SCHEDULE":          c.AlertSchedule,
		"HOOKLENS_ALERT_ALLOWED_HOSTS":     strings.Join(c.AlertAllowedHosts, ","),
		"HOOKLENS_ALERT_TIMEOUT":           c.AlertTimeout.String(),
		"HOOKLENS_ENCRYPTION_KEYS":         maskSecret(c.EncryptionKeys),
		"HOOKLENS_PPROF_ADDR":              c.PprofAddr,
		"HOOKLENS_SQLITE_CACHE_MB":         strconv.Itoa(c.SQLiteCacheMB),
	}
	out := make([][2]string, 0, len(values))
	for _, s := range Settings {
		v, ok := values[s.Env]
		if !ok {
			v = "?"
		}
		out = append(out, [2]string{s.Env, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Print writes the redacted configuration, one setting a line.
func (c Config) Print(w io.Writer) {
	for _, kv := range c.Redacted() {
		fmt.Fprintf(w, "%s=%s\n", kv[0], kv[1])
	}
}

// LogValue lets slog print a Config without leaking secrets.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(Settings))
	for _, kv := range c.Redacted() {
		attrs = append(attrs, slog.String(kv[0], kv[1]))
	}
	return slog.GroupValue(attrs...)
}

func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return "<set>"
}

func maskList(secrets []string) string {
	if len(secrets) == 0 {
		return ""
	}
	return fmt.Sprintf("<%d secret(s) set>", len(secrets))
}

// RedactURL masks the password in a database URL; plain paths pass through.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
