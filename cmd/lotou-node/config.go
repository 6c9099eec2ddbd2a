package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/node"
)

var errHelp = errors.New("help requested")

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
	Encrypt           string `json:"encrypt"`
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
	return []*setting{
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
		{flag: "encrypt", env: contract.EnvEncrypt, def: "false", usage: "encrypt frames between nodes (true/false)", file: func(c *fileConfig) string { return c.Encrypt }},
		// Optional backends (docs/backends.md); secrets come from the environment only.
		{flag: "discovery", env: contract.EnvDiscovery, def: contract.DiscoveryMaster, usage: "master or etcd", file: func(c *fileConfig) string { return c.Discovery }},
		{flag: "etcd-endpoints", env: contract.EnvEtcdEndpoints, usage: "comma list of etcd client URLs (etcd discovery)", file: func(c *fileConfig) string { return c.EtcdEndpoints }},
		{flag: "transport", env: contract.EnvTransport, def: contract.TransportTCP, usage: "tcp or nats", file: func(c *fileConfig) string { return c.Transport }},
		{flag: "nats-url", env: contract.EnvNATSURL, usage: "NATS server URL (nats transport)", file: func(c *fileConfig) string { return c.NATSURL }},
	}
}

// parseConfig resolves every setting: flag, else environment, else config
// file, else default.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (node.Options, string, error) {
	fs := flag.NewFlagSet("lotou-node", flag.ContinueOnError)
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
			return node.Options{}, "", errHelp
		}
		return node.Options{}, "", err
	}
	if fs.NArg() > 0 {
		return node.Options{}, "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var fc fileConfig
	if p := firstNonEmpty(*configPath, getenv(contract.EnvConfig)); p != "" {
		b, err := os.ReadFile(p) //nolint:gosec // the operator chooses the config path
		if err != nil {
			return node.Options{}, "", fmt.Errorf("reading config: %w", err)
		}
		if err := yaml.UnmarshalStrict(b, &fc); err != nil {
			return node.Options{}, "", fmt.Errorf("config %s: %w", p, err)
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

func buildOptions(s map[string]*setting, getenv func(string) string) (node.Options, string, error) {
	o := node.Options{
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
		return o, "", fmt.Errorf("--encrypt %q: want true or false", s["encrypt"].val)
	}
	if o.Heartbeat, err = time.ParseDuration(s["heartbeat-interval"].val); err != nil || o.Heartbeat <= 0 {
		return o, "", fmt.Errorf("--heartbeat-interval %q: want a positive duration such as 1s", s["heartbeat-interval"].val)
	}
	if o.CallTimeout, err = time.ParseDuration(s["call-timeout"].val); err != nil || o.CallTimeout <= 0 {
		return o, "", fmt.Errorf("--call-timeout %q: want a positive duration such as 5s", s["call-timeout"].val)
	}
	if tf := s["token-file"].val; tf != "" {
		b, err := os.ReadFile(tf) //nolint:gosec // the operator chooses the token path
		if err != nil {
			return o, "", fmt.Errorf("reading token file: %w", err)
		}
		o.Token = []byte(strings.TrimSpace(string(b)))
	} else if tok := getenv(contract.EnvClusterToken); tok != "" {
		o.Token = []byte(tok)
	}
	o.Backends = backendOptions(s, getenv)
	if err := o.Validate(); err != nil {
		return o, "", err
	}
	return o, s["log-level"].val, nil
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
func backendOptions(s map[string]*setting, getenv func(string) string) node.Backends {
	b := node.Backends{
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
