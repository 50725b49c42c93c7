// Package config loads vigil.yaml: strict YAML (unknown fields are errors), defaults
// for every field, and validation whose messages name the file, the line and the fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole of vigil.yaml. Every field has a default (see Default), so an
// empty or absent file runs Vigil in development mode.
type Config struct {
	// DataDir holds vigil.db (events, incidents, audit) and, with the embedded
	// server, temporal.db. Default ./.vigil.
	DataDir string `yaml:"data_dir"`
	// Temporal says where workflows run.
	Temporal Temporal `yaml:"temporal"`
	// HTTP is the listener for ingest, the API and the console.
	HTTP HTTP `yaml:"http"`
	// Ingest controls how incoming alerts become incidents.
	Ingest Ingest `yaml:"ingest"`
	// Runbooks says where runbooks are loaded from.
	Runbooks Runbooks `yaml:"runbooks"`
	// Groups maps a group name to its member user ids; runbooks name approvers as
	// group:NAME. Default: {oncall: [local-operator]}.
	Groups map[string][]string `yaml:"groups"`
	// OnCall maps an on-call schedule name to the user ids on call; runbooks name
	// approvers as oncall:SCHEDULE. Default: none.
	OnCall map[string][]string `yaml:"oncall"`
	// GitHub is the GitHub API that github runbook steps and a GitHub runbook
	// source use.
	GitHub GitHub `yaml:"github"`
	// Escalation says when incidents escalate on their own and whom they page.
	Escalation Escalation `yaml:"escalation"`
	// Autonomy lists the rules under which risk: low runbooks run without a
	// human approval. Default: none (every run needs a human).
	Autonomy []AutonomyRule `yaml:"autonomy"`
	// Console configures the built-in web console.
	Console Console `yaml:"console"`
	// Slack configures the Slack surface; off unless slack.bot_token is set.
	Slack Slack `yaml:"slack"`
	// Audit configures the audit trail's signed checkpoints (audit.go).
	Audit Audit `yaml:"audit"`
	// Retention says how long raw events are kept.
	Retention Retention `yaml:"retention"`
	// Postmortems says where postmortem drafts go besides the thread.
	Postmortems Postmortems `yaml:"postmortems"`
	// Metrics configures metric ingest and the Prometheus source (signals.go).
	Metrics Metrics `yaml:"metrics"`
	// Logs configures log ingest and file tails.
	Logs Logs `yaml:"logs"`
	// Anomaly configures the metric anomaly detectors.
	Anomaly Anomaly `yaml:"anomaly"`
	// Forecast configures capacity forecasts of pushed metrics.
	Forecast ForecastSettings `yaml:"forecast"`
	// Changes configures change events from GitHub and the service catalogue
	// (changes.go).
	Changes Changes `yaml:"changes"`
	// Assist configures the optional investigation assistant (assist.go).
	Assist Assist `yaml:"assist"`
	// HA configures replicas sharing one store (`vigil serve`).
	HA HA `yaml:"ha"`
}

// HA configures how replicas sharing one store split the singleton loops:
// the outbox dispatcher, the GitHub and Prometheus pollers, log file tails
// and retention each run on the one worker replica holding its lease.
type HA struct {
	// LeaseTTL is how long a lease lasts without renewal. Its holder renews
	// it every third of that; when the holder dies, another worker replica
	// takes the loop over within about LeaseTTL (at once when the holder
	// stops cleanly, as it gives its leases up). Replicas' clocks must agree
	// to well within it. Default 15s; at least 3s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Temporal configures the connection to Temporal.
type Temporal struct {
	// Address of an external cluster's frontend (host:port). Empty runs the embedded
	// server persisted under DataDir with `vigil dev`; `vigil serve` requires it
	// (or --temporal-address).
	Address string `yaml:"address"`
	// Namespace for all workflows. Default "default".
	Namespace string `yaml:"namespace"`
	// TaskQueue the worker polls. Default "vigil".
	TaskQueue string `yaml:"task_queue"`
	// TLS connects to the frontend over TLS, with a client certificate for
	// mTLS. Off when empty (plain gRPC, the embedded server's way).
	TLS TemporalTLS `yaml:"tls"`
	// APIKey authenticates to Temporal Cloud (or a cluster with API keys)
	// as a bearer credential: a secret reference, env:NAME or file:PATH.
	// It implies TLS.
	APIKey Secret `yaml:"api_key"`
	// Encryption seals every payload Vigil hands Temporal.
	Encryption Encryption `yaml:"encryption"`
}

// TemporalTLS configures TLS to the Temporal frontend. Any field set turns
// TLS on; with none but APIKey set, the system roots verify the server.
type TemporalTLS struct {
	// Enabled turns TLS on with the system's roots and no client
	// certificate (a frontend with a public certificate).
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the CAs that sign the frontend's certificate;
	// empty trusts the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate and its key, for
	// mTLS; set both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the frontend's certificate
	// (default: the host of temporal.address).
	ServerName string `yaml:"server_name"`
}

// On reports whether TLS is asked for.
func (t TemporalTLS) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != ""
}

// Encryption configures payload encryption (AES-256-GCM).
type Encryption struct {
	// Keys are the key ring: the first encrypts, all decrypt. Rotate by
	// putting a new key first and keeping the old ones until workflows
	// they sealed are past retention. Empty: `vigil serve` stores payloads
	// in clear (and says so at start); `vigil dev` makes a key of its own
	// in the data directory.
	Keys []EncryptionKey `yaml:"keys"`
	// CodecTokens are the bearer tokens `vigil codec-server` accepts from
	// the Temporal UI or CLI (secret references).
	CodecTokens []Secret `yaml:"codec_tokens"`
	// CodecOrigins are the Temporal UI origins allowed to call the codec
	// server from the browser (e.g. https://temporal.example.com).
	CodecOrigins []string `yaml:"codec_origins"`
}

// EncryptionKey is one key of the ring.
type EncryptionKey struct {
	// ID is stored beside every payload the key seals; never reuse one for
	// a different key.
	ID string `yaml:"id"`
	// Secret references 32 random bytes in standard base64
	// (`openssl rand -base64 32`): env:NAME or file:PATH.
	Secret Secret `yaml:"secret"`
}

// HTTP configures the HTTP listener.
type HTTP struct {
	// Addr to listen on. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// MaxBodyBytes caps every request body; larger requests get 413. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Ingest configures the receivers.
type Ingest struct {
	// GroupBy lists the labels whose values put alerts in the same incident.
	// Default [alertname, service].
	GroupBy []string `yaml:"group_by"`
	// Tokens are bearer tokens accepted on ingest endpoints, as secret references
	// (env:NAME or file:PATH). Empty accepts unauthenticated requests (development).
	Tokens []Secret `yaml:"tokens"`
	// Correlation routes a signal that has no open incident of its own to an
	// open incident it is connected to, instead of opening one.
	Correlation Correlation `yaml:"correlation"`
	// InhibitRules are Alertmanager's inhibit_rules: while a source alert
	// fires, a new firing alert matching the targets with the same values of
	// the equal labels is stored but opens and joins no incident.
	InhibitRules []InhibitRule `yaml:"inhibit_rules"`
	// Spool says when Alertmanager is answered once its alerts are durable
	// in a spool file of their own (data_dir/spool.db), to be routed into
	// incidents right after, instead of routing before answering. A spooled
	// storm is accepted at the rate the disk commits, not the rate the store
	// routes; a spooled answer says the alerts are queued instead of naming
	// incidents. "auto" (default) spools only while the store is behind
	// (more than 64 alerts are queued for or being committed to it, or the
	// spool still holds alerts); "always" spools every request; "off" never does. true
	// and false mean always and off.
	Spool SpoolMode `yaml:"spool"`
}

// SpoolMode is ingest.spool.
type SpoolMode string

// The values of ingest.spool.
const (
	SpoolAuto   SpoolMode = "auto"
	SpoolAlways SpoolMode = "always"
	SpoolOff    SpoolMode = "off"
)

// UnmarshalYAML takes a mode, or true (always) and false (off) as the
// setting was once a boolean.
func (m *SpoolMode) UnmarshalYAML(n *yaml.Node) error {
	var b bool
	if n.Tag == "!!bool" && n.Decode(&b) == nil {
		*m = map[bool]SpoolMode{true: SpoolAlways, false: SpoolOff}[b]
		return nil
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*m = SpoolMode(s)
	return nil
}

// InhibitRule is one inhibition rule, as in Alertmanager. Matchers use its
// syntax: name="value", name!="value", name=~"regex", name!~"regex".
type InhibitRule struct {
	// SourceMatchers select the alerts that inhibit; at least one.
	SourceMatchers []string `yaml:"source_matchers"`
	// TargetMatchers select the alerts that are inhibited; at least one.
	TargetMatchers []string `yaml:"target_matchers"`
	// Equal lists labels whose values must be the same on source and target.
	Equal []string `yaml:"equal"`
}

// Correlation configures cross-group correlation at ingest (analyzers/correlate).
// A firing alert whose group has no open incident, or a signal whose service
// has none, joins an open incident when it happened within Window of the
// incident's signals and its service is at most MaxHops dependency edges from
// one of the incident's services. Edges come from changes.services.*.calls and,
// with Learn, from which services have alerted together. A group that joined an
// incident keeps routing there while the incident is open.
type Correlation struct {
	// Enabled turns correlation on. Default true; false groups alerts by
	// group_by alone and signals by service alone.
	Enabled bool `yaml:"enabled"`
	// Window is how close in time a signal must be to an incident's first and
	// latest signals (their start times). Default 10m.
	Window time.Duration `yaml:"window"`
	// MaxHops is how many dependency edges may separate a signal's service
	// from one of the incident's. 0 joins only the same service. Default 1: a
	// cascade is followed one service at a time, as each joins the incident.
	MaxHops int `yaml:"max_hops"`
	// Learn adds edges between services that often alert together (support,
	// confidence and lift over 5-minute windows, halving weekly; see the
	// README). Learned in memory, so relearned after a restart. Default true.
	Learn bool `yaml:"learn"`
}

// Runbooks configures the runbook library.
type Runbooks struct {
	// Dir holds runbook YAML files. Default examples/runbooks. Ignored when
	// GitHub is set.
	Dir string `yaml:"dir"`
	// Reload is how often Dir is checked for changed files (names, sizes,
	// modification times). A bad edit is logged and the runbook's last good
	// version stays in force. Default 2s.
	Reload time.Duration `yaml:"reload"`
	// GitHub, when set, loads runbooks from a GitHub repository instead of Dir:
	// owner/repo@ref:path (ref defaults to the default branch, path to the root),
	// through the API and token of the github section. Every runbook's revision
	// is the commit SHA.
	GitHub string `yaml:"github"`
	// Sync is how often the GitHub source is checked for a new commit. Default 1m.
	Sync time.Duration `yaml:"sync"`
}

// GitHub configures access to the GitHub REST API.
type GitHub struct {
	// BaseURL of the REST API. Default https://api.github.com/; GitHub
	// Enterprise Server is https://HOST/api/v3/.
	BaseURL string `yaml:"base_url"`
	// Token is a secret reference (env:NAME or file:PATH) to a token that may read
	// the runbook repository and do what github steps do (dispatch workflows,
	// open issues, comment). Empty: unauthenticated, enough for a public runbook
	// repository only.
	Token Secret `yaml:"token"`
}

// Console configures the web console.
type Console struct {
	// User is the identity the console acts as in development mode, where it has no
	// login. Default local-operator. Production needs real authentication.
	User string `yaml:"user"`
	// Users are the people who may sign in. Any entry (or TrustedHeader) turns
	// authentication on: pages need a login, the API a bearer token, and acts
	// are attributed to the authenticated user only. See chat.go.
	Users []ConsoleUser `yaml:"users"`
	// SessionSecret signs session cookies (a secret reference). Default: a random
	// key per process, so sessions end when Vigil restarts; set it when several
	// Vigil processes serve the console.
	SessionSecret Secret `yaml:"session_secret"`
	// SessionTTL is how long a login lasts. Default 12h.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// TrustedHeader names a header an SSO proxy sets to the signed-in user
	// (e.g. X-Forwarded-User). Off when empty; requires TrustedProxies.
	TrustedHeader string `yaml:"trusted_header"`
	// TrustedGroupsHeader optionally names the proxy's header with the user's
	// groups, comma-separated (e.g. X-Forwarded-Groups).
	TrustedGroupsHeader string `yaml:"trusted_groups_header"`
	// TrustedProxies are the CIDRs the trusted headers are accepted from; from
	// anywhere else they are ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// DefaultConsoleUser is the console's identity in development mode; the default
// configuration makes it a member of the oncall group.
const DefaultConsoleUser = "local-operator"

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		DataDir:  "./.vigil",
		Temporal: Temporal{Namespace: "default", TaskQueue: "vigil"},
		HTTP:     HTTP{Addr: "127.0.0.1:8080", MaxBodyBytes: 1 << 20},
		Ingest: Ingest{GroupBy: []string{"alertname", "service"}, Spool: SpoolAuto,
			Correlation: Correlation{Enabled: true, Window: 10 * time.Minute, MaxHops: 1, Learn: true}},
		Runbooks: Runbooks{Dir: "examples/runbooks", Reload: 2 * time.Second, Sync: time.Minute},
		Groups:   map[string][]string{"oncall": {DefaultConsoleUser}},
		Console:  Console{User: DefaultConsoleUser},
		Metrics:  defaultMetrics(),
		Logs:     defaultLogs(),
		Anomaly:  defaultAnomaly(),
		Forecast: ForecastSettings{Every: 5 * time.Minute},
		HA:       HA{LeaseTTL: 15 * time.Second},
	}
}

// Load reads and validates a configuration file. Fields the file leaves out keep
// their defaults. Errors name the file and line.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; path is used in messages only.
func Parse(path string, data []byte) (Config, error) {
	cfg := Default()
	// A file's groups replace the default groups rather than merging into them.
	cfg.Groups = nil
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %s", path, yamlMessage(err))
	}
	if cfg.Groups == nil {
		cfg.Groups = Default().Groups
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlMessage turns the YAML library's "yaml: line 3: field x not found in type
// config.Config" into "line 3: unknown field \"x\"".
func yamlMessage(err error) string {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		msgs[i] = unknownFieldRE.ReplaceAllString(m, `unknown field "$1" (see the Configuration section of the README)`)
	}
	return strings.Join(msgs, "; ")
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// githubRepoRE is the form runbooks.ParseGitHubRepo accepts.
	githubRepoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:@[^:]+)?(?::.*)?$`)
)

// Validate checks cross-field rules and returns every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty (default ./.vigil)")
	}
	if c.Temporal.Address != "" {
		if _, _, err := net.SplitHostPort(c.Temporal.Address); err != nil {
			bad("temporal.address", "%q is not host:port (e.g. temporal.example.com:7233)", c.Temporal.Address)
		}
	}
	if c.Temporal.Namespace == "" {
		bad("temporal.namespace", "must not be empty (default \"default\")")
	}
	if c.Temporal.TaskQueue == "" {
		bad("temporal.task_queue", "must not be empty (default \"vigil\")")
	}
	if t := c.Temporal.TLS; (t.CertFile == "") != (t.KeyFile == "") {
		bad("temporal.tls", "set cert_file and key_file together (mTLS), or neither")
	}
	if c.Temporal.APIKey != "" {
		if err := c.Temporal.APIKey.Validate(); err != nil {
			bad("temporal.api_key", "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, k := range c.Temporal.Encryption.Keys {
		field := fmt.Sprintf("temporal.encryption.keys[%d]", i)
		switch {
		case !nameRE.MatchString(k.ID):
			bad(field+".id", "%q must be letters, digits, '.', '_' or '-'", k.ID)
		case seen[k.ID]:
			bad(field+".id", "%q is used twice; every key needs an id of its own", k.ID)
		}
		seen[k.ID] = true
		if err := k.Secret.Validate(); err != nil {
			bad(field+".secret", "%v", err)
		}
	}
	for i, t := range c.Temporal.Encryption.CodecTokens {
		if err := t.Validate(); err != nil {
			bad(fmt.Sprintf("temporal.encryption.codec_tokens[%d]", i), "%v", err)
		}
	}
	for i, o := range c.Temporal.Encryption.CodecOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			bad(fmt.Sprintf("temporal.encryption.codec_origins[%d]", i), "%q is not an origin (e.g. https://temporal.example.com)", o)
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "%q is not host:port (e.g. 127.0.0.1:8080)", c.HTTP.Addr)
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		bad("http.max_body_bytes", "must be positive, got %d", c.HTTP.MaxBodyBytes)
	}
	if len(c.Ingest.GroupBy) == 0 {
		bad("ingest.group_by", "must list at least one label (default [alertname, service])")
	}
	switch c.Ingest.Spool {
	case "", SpoolAuto, SpoolAlways, SpoolOff: // "" is a Config built without Default: auto
	default:
		bad("ingest.spool", "must be auto, always or off, got %q (default auto)", c.Ingest.Spool)
	}
	if c.Ingest.Correlation.Window <= 0 {
		bad("ingest.correlation.window", "must be positive, got %s (default 10m)", c.Ingest.Correlation.Window)
	}
	if c.Ingest.Correlation.MaxHops < 0 || c.Ingest.Correlation.MaxHops > 5 {
		bad("ingest.correlation.max_hops", "must be between 0 and 5, got %d (default 1)", c.Ingest.Correlation.MaxHops)
	}
	for i, r := range c.Ingest.InhibitRules {
		if len(r.SourceMatchers) == 0 || len(r.TargetMatchers) == 0 {
			bad(fmt.Sprintf("ingest.inhibit_rules[%d]", i), "needs source_matchers and target_matchers")
		}
	}
	for i, t := range c.Ingest.Tokens {
		if err := t.Validate(); err != nil {
			bad(fmt.Sprintf("ingest.tokens[%d]", i), "%v", err)
		}
	}
	if c.Runbooks.Dir == "" {
		bad("runbooks.dir", "must not be empty (default examples/runbooks)")
	}
	if c.Runbooks.Reload < 100*time.Millisecond {
		bad("runbooks.reload", "must be at least 100ms, got %s (default 2s)", c.Runbooks.Reload)
	}
	if c.Runbooks.GitHub != "" && !githubRepoRE.MatchString(c.Runbooks.GitHub) {
		bad("runbooks.github", "%q must be owner/repo@ref:path (e.g. acme/runbooks@main:runbooks)", c.Runbooks.GitHub)
	}
	if c.HA.LeaseTTL != 0 && c.HA.LeaseTTL < 3*time.Second { // 0: a Config built without Default
		bad("ha.lease_ttl", "must be at least 3s, got %s (default 15s)", c.HA.LeaseTTL)
	}
	if c.Runbooks.Sync < 10*time.Second {
		bad("runbooks.sync", "must be at least 10s, got %s (default 1m); GitHub rate-limits API calls", c.Runbooks.Sync)
	}
	if u, err := url.Parse(c.GitHub.BaseURL); c.GitHub.BaseURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("github.base_url", "%q is not an http:// or https:// URL (e.g. https://github.example.com/api/v3/)", c.GitHub.BaseURL)
	}
	if c.GitHub.Token != "" {
		if err := c.GitHub.Token.Validate(); err != nil {
			bad("github.token", "%v", err)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(c.Groups)) {
		if !nameRE.MatchString(g) {
			bad("groups", "group name %q must be letters, digits, '.', '_' or '-'", g)
		}
		if len(c.Groups[g]) == 0 {
			bad("groups."+g, "has no members; list user ids or remove the group")
		}
	}
	for _, s := range slices.Sorted(maps.Keys(c.OnCall)) {
		if !nameRE.MatchString(s) {
			bad("oncall", "schedule name %q must be letters, digits, '.', '_' or '-'", s)
		}
		if len(c.OnCall[s]) == 0 {
			bad("oncall."+s, "has nobody on call; list user ids or remove the schedule")
		}
	}
	if c.Console.User == "" {
		bad("console.user", "must not be empty (default %s)", DefaultConsoleUser)
	}
	errs = append(errs, c.validateEscalation()...)
	errs = append(errs, c.Console.validate()...)
	errs = append(errs, c.Slack.validate()...)
	errs = append(errs, c.validateReview()...)
	errs = append(errs, c.validateSignals()...)
	errs = append(errs, c.validateChanges()...)
	errs = append(errs, c.validateAssist()...)
	return errors.Join(errs...)
}
