package node

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lotou-io/lotou/runtime/contract"
)

// ErrHelp is returned by ParseConfig when -h or --help was given; the
// usage has been written.
var ErrHelp = errors.New("help requested")

// Config is everything lotou-node reads from its flags, environment and
// YAML file: the node's Options plus what lives outside them.
type Config struct {
	// Options are the node's options, validated.
	Options Options
	// LogLevel is error, info or debug.
	LogLevel string
	// Gate is the game-client gate's listen address; empty: no gate.
	Gate string
	// GateAuth is the gate's default client check: "ticket" or "name".
	GateAuth string
	// DrainTimeout bounds the wait for gate clients to move on SIGTERM.
	DrainTimeout time.Duration
	// GateLimits override the program's gate limits where set.
	GateLimits GateLimits
}

// Gate authentication modes (contract.EnvGateAuth).
const (
	GateAuthTicket = "ticket"
	GateAuthName   = "name"
)

// fileConfig is the --config YAML file: the same keys as the flags.
type fileConfig struct {
	Role              string `json:"role"`
	Name              string `json:"name"`
	Listen            string `json:"listen"`
	Advertise         string `json:"advertise"`
	Master            string `json:"master"`
	TokenFile         string `json:"token-file"`
	HTTP              string `json:"http"`
	Services          string `json:"services"`
	LogLevel          string `json:"log-level"`
	HeartbeatInterval string `json:"heartbeat-interval"`
	CallTimeout       string `json:"call-timeout"`
	TLSCert           string `json:"tls-cert"`
	TLSKey            string `json:"tls-key"`
	TLSCA             string `json:"tls-ca"`
	Gate              string `json:"gate"`
	GateAuth          string `json:"gate-auth"`
	DrainTimeout      string `json:"drain-timeout"`
	GateMaxMessage    string `json:"gate-max-message"`
	GateRate          string `json:"gate-rate"`
	GateBurst         string `json:"gate-burst"`
	GateIdleTimeout   string `json:"gate-idle-timeout"`
	GateMaxConns      string `json:"gate-max-conns"`
	GateQueue         string `json:"gate-queue"`
	Encrypt           string `json:"encrypt"`
	Pprof             string `json:"pprof"`
	// Optional backends (docs/backends.md).
	Discovery     string `json:"discovery"`
	EtcdEndpoints string `json:"etcd-endpoints"`
	Transport     string `json:"transport"`
	NATSURL       string `json:"nats-url"`
}

// setting is one configuration key: its flag, its environment variable and
// where its value lands.
type setting struct {
	flag, env, usage, def string
	file                  func(*fileConfig) string
	val                   string
}

func settings() []*setting {
	host, _ := os.Hostname()
	return append([]*setting{
		{flag: "role", env: contract.EnvRole, def: contract.RoleStandalone, usage: "master, slave or standalone", file: func(c *fileConfig) string { return c.Role }},
		{flag: "name", env: contract.EnvNodeName, def: host, usage: "node name (default: hostname)", file: func(c *fileConfig) string { return c.Name }},
		{flag: "listen", env: contract.EnvListen, def: fmt.Sprintf(":%d", contract.DefaultPort), usage: "cluster TCP address", file: func(c *fileConfig) string { return c.Listen }},
		{flag: "advertise", env: contract.EnvAdvertise, usage: "host:port other nodes dial (default: the listen address)", file: func(c *fileConfig) string { return c.Advertise }},
		{flag: "master", env: contract.EnvMaster, usage: "master host:port (slaves)", file: func(c *fileConfig) string { return c.Master }},
		{flag: "token-file", env: contract.EnvTokenFile, usage: "file holding the cluster token (or set " + contract.EnvClusterToken + ")", file: func(c *fileConfig) string { return c.TokenFile }},
		{flag: "http", env: contract.EnvHTTP, def: fmt.Sprintf(":%d", contract.DefaultHTTPPort), usage: "address of /healthz, /readyz, /metrics, /cluster", file: func(c *fileConfig) string { return c.HTTP }},
		{flag: "services", env: contract.EnvServices, usage: "comma list of built-in services (echo)", file: func(c *fileConfig) string { return c.Services }},
		{flag: "log-level", env: contract.EnvLogLevel, def: contract.DefaultLogLevel, usage: "error, info or debug", file: func(c *fileConfig) string { return c.LogLevel }},
		{flag: "heartbeat-interval", env: contract.EnvHeartbeatInterval, def: contract.DefaultHeartbeatInterval.String(), usage: "heartbeat period", file: func(c *fileConfig) string { return c.HeartbeatInterval }},
		{flag: "call-timeout", env: contract.EnvCallTimeout, def: contract.DefaultCallTimeout.String(), usage: "default call deadline", file: func(c *fileConfig) string { return c.CallTimeout }},
		{flag: "tls-cert", usage: "PEM certificate for TLS between nodes", file: func(c *fileConfig) string { return c.TLSCert }},
		{flag: "tls-key", usage: "PEM key for TLS between nodes", file: func(c *fileConfig) string { return c.TLSKey }},
		{flag: "tls-ca", usage: "PEM CA verifying peers (mutual TLS)", file: func(c *fileConfig) string { return c.TLSCA }},
		{flag: "gate", env: contract.EnvGate, usage: fmt.Sprintf("game-client gate address, TCP and WebSocket (e.g. :%d; default: no gate)", contract.DefaultGatePort), file: func(c *fileConfig) string { return c.Gate }},
		{flag: "gate-auth", env: contract.EnvGateAuth, def: GateAuthTicket, usage: "gate client check when the program sets none: ticket or name (demos only)", file: func(c *fileConfig) string { return c.GateAuth }},
		{flag: "drain-timeout", env: contract.EnvDrainTimeout, def: contract.DefaultDrainTimeout.String(), usage: "on SIGTERM, how long the gate waits for clients to move", file: func(c *fileConfig) string { return c.DrainTimeout }},
		{flag: "encrypt", env: contract.EnvEncrypt, def: "false", usage: "encrypt frames between nodes (true/false)", file: func(c *fileConfig) string { return c.Encrypt }},
		{flag: "pprof", env: contract.EnvPprof, def: "false", usage: "serve Go's profiles under /debug/pprof/ on the HTTP address (true/false)", file: func(c *fileConfig) string { return c.Pprof }},
		// Optional backends (docs/backends.md); secrets come from the environment only.
		{flag: "discovery", env: contract.EnvDiscovery, def: contract.DiscoveryMaster, usage: "master or etcd", file: func(c *fileConfig) string { return c.Discovery }},
		{flag: "etcd-endpoints", env: contract.EnvEtcdEndpoints, usage: "comma list of etcd client URLs (etcd discovery)", file: func(c *fileConfig) string { return c.EtcdEndpoints }},
		{flag: "transport", env: contract.EnvTransport, def: contract.TransportTCP, usage: "tcp or nats", file: func(c *fileConfig) string { return c.Transport }},
		{flag: "nats-url", env: contract.EnvNATSURL, usage: "NATS server URL (nats transport)", file: func(c *fileConfig) string { return c.NATSURL }},
	}, gateLimitSettings()...)
}

// ParseConfig resolves every setting exactly as lotou-node does: flag, else
// environment variable (runtime/contract), else the --config YAML file,
// else the default. prog names the program in the usage text. A game's own
// main gets the operator's pod contract for free through it (or Main).
func ParseConfig(prog string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(out)
	all := settings()
	byFlag := map[string]*setting{}
	for _, s := range all {
		usage := s.usage
		if s.env != "" {
			usage += " [$" + s.env + "]"
		}
		fs.StringVar(&s.val, s.flag, "", usage)
		byFlag[s.flag] = s
	}
	configPath := fs.String("config", "", "YAML file with the same keys as the flags [$"+contract.EnvConfig+"]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, ErrHelp
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var fc fileConfig
	if p := firstNonEmpty(*configPath, getenv(contract.EnvConfig)); p != "" {
		b, err := os.ReadFile(p) //nolint:gosec // the operator chooses the config path
		if err != nil {
			return Config{}, fmt.Errorf("reading config: %w", err)
		}
		if err := yaml.UnmarshalStrict(b, &fc); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", p, err)
		}
	}
	for _, s := range all {
		if set[s.flag] {
			continue
		}
		env := ""
		if s.env != "" {
			env = getenv(s.env)
		}
		s.val = firstNonEmpty(env, s.file(&fc), s.def)
	}
	return buildOptions(byFlag, getenv)
}

// OptionsFromEnv is ParseConfig without flags: the environment and the
// LOTOU_CONFIG file, as the operator's pods set them.
func OptionsFromEnv() (Config, error) {
	return ParseConfig("lotou-node", nil, os.Getenv, io.Discard)
}

func buildOptions(s map[string]*setting, getenv func(string) string) (Config, error) {
	cfg := Config{LogLevel: s["log-level"].val, Gate: s["gate"].val, GateAuth: s["gate-auth"].val}
	if cfg.GateAuth != GateAuthTicket && cfg.GateAuth != GateAuthName {
		return cfg, fmt.Errorf("--gate-auth %q: want %s or %s", cfg.GateAuth, GateAuthTicket, GateAuthName)
	}
	var err error
	if cfg.DrainTimeout, err = time.ParseDuration(s["drain-timeout"].val); err != nil || cfg.DrainTimeout < 0 {
		return cfg, fmt.Errorf("--drain-timeout %q: want a duration such as 60s", s["drain-timeout"].val)
	}
	if cfg.Gate != "" {
		if _, _, err := net.SplitHostPort(cfg.Gate); err != nil {
			return cfg, fmt.Errorf("--gate %q: %w", cfg.Gate, err)
		}
	}
	if cfg.GateLimits, err = parseGateLimits(s); err != nil {
		return cfg, err
	}
	o, err := buildNodeOptions(s, getenv)
	cfg.Options = o
	return cfg, err
}

func buildNodeOptions(s map[string]*setting, getenv func(string) string) (Options, error) {
	o := Options{
		Role: s["role"].val, Name: s["name"].val, Listen: s["listen"].val, Advertise: s["advertise"].val,
		Master: s["master"].val, HTTP: s["http"].val,
		TLSCert: s["tls-cert"].val, TLSKey: s["tls-key"].val, TLSCA: s["tls-ca"].val,
	}
	for _, svc := range strings.Split(s["services"].val, ",") {
		if svc = strings.TrimSpace(svc); svc != "" {
			o.Services = append(o.Services, svc)
		}
	}
	var err error
	if o.Encrypt, err = strconv.ParseBool(s["encrypt"].val); err != nil {
		return o, fmt.Errorf("--encrypt %q: want true or false", s["encrypt"].val)
	}
	if o.Pprof, err = strconv.ParseBool(s["pprof"].val); err != nil {
		return o, fmt.Errorf("--pprof %q: want true or false", s["pprof"].val)
	}
	if o.Heartbeat, err = time.ParseDuration(s["heartbeat-interval"].val); err != nil || o.Heartbeat <= 0 {
		return o, fmt.Errorf("--heartbeat-interval %q: want a positive duration such as 1s", s["heartbeat-interval"].val)
	}
	if o.CallTimeout, err = time.ParseDuration(s["call-timeout"].val); err != nil || o.CallTimeout <= 0 {
		return o, fmt.Errorf("--call-timeout %q: want a positive duration such as 5s", s["call-timeout"].val)
	}
	if tf := s["token-file"].val; tf != "" {
		b, err := os.ReadFile(tf) //nolint:gosec // the operator chooses the token path
		if err != nil {
			return o, fmt.Errorf("reading token file: %w", err)
		}
		o.Token = []byte(strings.TrimSpace(string(b)))
	} else if tok := strings.TrimSpace(getenv(contract.EnvClusterToken)); tok != "" {
		// Trimmed as the file is: a Secret made from a file ends with a
		// newline, and both ways must give the same token.
		o.Token = []byte(tok)
	}
	o.Backends = backendOptions(s, getenv)
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// backendOptions reads the optional backends' settings: the flags above and
// the environment-only secrets and paths.
func backendOptions(s map[string]*setting, getenv func(string) string) Backends {
	b := Backends{
		Discovery: s["discovery"].val, Transport: s["transport"].val, NATSURL: s["nats-url"].val,
		EtcdUsername: getenv(contract.EnvEtcdUsername), EtcdPassword: getenv(contract.EnvEtcdPassword),
		EtcdTLSDir: getenv(contract.EnvEtcdTLSDir), EtcdPrefix: getenv(contract.EnvEtcdPrefix),
		NATSCreds: getenv(contract.EnvNATSCreds), NATSToken: getenv(contract.EnvNATSToken),
		NATSTLSDir: getenv(contract.EnvNATSTLSDir), NATSPrefix: getenv(contract.EnvNATSPrefix),
	}
	for _, e := range strings.Split(s["etcd-endpoints"].val, ",") {
		if e = strings.TrimSpace(e); e != "" {
			b.EtcdEndpoints = append(b.EtcdEndpoints, e)
		}
	}
	return b
}
