// Package devtemporal runs a real Temporal server inside the current process,
// persisted to a SQLite file or to PostgreSQL. With SQLite it backs `vigil dev`
// and end-to-end tests; with PostgreSQL it backs `vigil temporal-server`, one
// server process that several Vigil replicas share. Larger installations point
// Vigil at a Temporal cluster instead. Only cmd/vigil and tests import it,
// because it links the whole Temporal server.
package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const clusterName = "active"

// Options configures an embedded server.
type Options struct {
	// DBPath is the SQLite file holding all Temporal state. Empty means in-memory
	// (state is lost on Stop; for tests).
	DBPath string
	// PostgresDSN, instead of DBPath, keeps all Temporal state in PostgreSQL:
	// postgres://user:password@host:port/database[?sslmode=…] (see
	// CheckPostgresDSN). The database is created if missing (the role then needs
	// CREATEDB), its schema set up on first start and updated to this Temporal
	// version on later ones. Only one server may use a database at a time.
	PostgresDSN string
	// VisibilityDSN is the PostgreSQL database for visibility records (what
	// listing workflows reads), prepared like PostgresDSN. Empty means the
	// database <name>_visibility beside PostgresDSN's. Only with PostgresDSN.
	VisibilityDSN string
	// Namespace is registered before start (default "default").
	Namespace string
	// FrontendPort is the gRPC port clients dial on 127.0.0.1; 0 picks a free port.
	// ListenAddr overrides it.
	FrontendPort int
	// ListenAddr is the IP:port the frontend listens on, e.g. 0.0.0.0:7233 in a
	// container; port 0 picks a free one. Empty means 127.0.0.1:FrontendPort.
	// The history, matching and worker services always stay on loopback. They,
	// and Address, reach a wildcard frontend (0.0.0.0, ::) through loopback.
	ListenAddr string
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	srv       temporal.Server
	release   func() // of the database, after srv stops
	addr      string // dialled by this process
	listen    string
	namespace string
}

// Start prepares the database (schema and namespace on first use) and starts the
// frontend, history, matching and worker services on loopback ports with static
// membership (the frontend where ListenAddr says). It returns once the frontend
// answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.PostgresDSN != "" && opts.DBPath != "" {
		return nil, errors.New("embedded temporal: both a SQLite file and a PostgreSQL DSN given; pick one")
	}
	if opts.VisibilityDSN != "" && opts.PostgresDSN == "" {
		return nil, errors.New("embedded temporal: a visibility DSN needs a PostgreSQL DSN")
	}
	host := "127.0.0.1" // where every service but the frontend listens
	bindIP, dialIP, port := host, host, opts.FrontendPort
	if opts.ListenAddr != "" {
		var err error
		if bindIP, dialIP, port, err = parseListen(opts.ListenAddr); err != nil {
			return nil, err
		}
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	if port != 0 {
		ports[0] = port
	}
	addrs := make([]string, len(ports))
	for i, p := range ports {
		addrs[i] = net.JoinHostPort(host, strconv.Itoa(p))
	}
	addrs[0] = net.JoinHostPort(dialIP, strconv.Itoa(ports[0]))

	var logger tlog.Logger = tlog.NewNoopLogger()
	if opts.Logger != nil {
		logger = newSlogAdapter(opts.Logger.With("component", "temporal"))
	}
	var persistence config.Persistence
	release := func() {}
	if opts.PostgresDSN != "" {
		persistence, release, err = preparePostgres(ctx, opts, logger)
	} else {
		persistence, err = prepareSQLite(opts)
	}
	if err != nil {
		return nil, err
	}

	services := []primitives.ServiceName{
		primitives.FrontendService, primitives.HistoryService,
		primitives.MatchingService, primitives.WorkerService,
	}
	cfg := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host},
		},
		Persistence: persistence,
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: addrs[0]},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            map[string]config.Service{},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: addrs[0]},
	}
	hosts := make(map[primitives.ServiceName]static.Hosts, len(services))
	names := make([]string, len(services))
	for i, s := range services {
		bind := host
		if s == primitives.FrontendService {
			bind = bindIP
		}
		cfg.Services[string(s)] = config.Service{RPC: config.RPC{GRPCPort: ports[i], BindOnIP: bind}}
		hosts[s] = static.SingleLocalHost(addrs[i])
		names[i] = string(s)
	}
	srv, err := temporal.NewServer(
		temporal.ForServices(names),
		temporal.WithConfig(cfg),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.EnableServerVersionCheck.Key(): []dynamicconfig.ConstrainedValue{{Value: false}},
		}),
	)
	if err != nil {
		release()
		return nil, fmt.Errorf("embedded temporal: build server: %w", err)
	}
	if err := srv.Start(); err != nil {
		release()
		return nil, fmt.Errorf("embedded temporal: start: %w", err)
	}
	s := &Server{srv: srv, release: release, addr: addrs[0], listen: net.JoinHostPort(bindIP, strconv.Itoa(ports[0])), namespace: opts.Namespace}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// prepareSQLite opens the SQLite file (or an in-memory database) and prepares it.
func prepareSQLite(opts Options) (config.Persistence, error) {
	sqlCfg := &config.SQL{
		PluginName: sqliteplugin.PluginName,
		// WAL with synchronous=full: a kill -9 or power cut never loses a
		// committed workflow transition.
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "full", "busy_timeout": "10000"},
		DatabaseName:      opts.DBPath,
	}
	if opts.DBPath == "" {
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlCfg.DatabaseName = "vigil-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if err := prepareDatabase(sqlCfg, opts); err != nil {
		return config.Persistence{}, err
	}
	return config.Persistence{
		DefaultStore:     sqliteplugin.PluginName,
		VisibilityStore:  sqliteplugin.PluginName,
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
	}, nil
}

// prepareDatabase creates the schema in a new file and registers the namespace.
// Both steps are no-ops on a database that already has them.
func prepareDatabase(sqlCfg *config.SQL, opts Options) error {
	// An in-memory database gets its schema from the SQLite plugin itself; a file
	// needs it once, when it is new.
	fresh := false
	if opts.DBPath != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBPath), 0o750); err != nil {
			return fmt.Errorf("embedded temporal: create data dir: %w", err)
		}
		if _, err := os.Stat(opts.DBPath); errors.Is(err, os.ErrNotExist) {
			fresh = true
		}
	}
	if fresh {
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			_ = os.Remove(opts.DBPath) // never leave a half-initialised file behind
			return fmt.Errorf("embedded temporal: create schema in %q: %w", opts.DBPath, err)
		}
	}
	ns, err := sqlite.NewNamespaceConfig(clusterName, opts.Namespace, false, nil)
	if err != nil {
		return fmt.Errorf("embedded temporal: namespace %q: %w", opts.Namespace, err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return fmt.Errorf("embedded temporal: register namespace %q: %w", opts.Namespace, err)
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: s.addr, Namespace: s.namespace, Logger: discardSDKLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded temporal: frontend %s not ready: %w", s.addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Address is the frontend host:port for client.Dial from this host.
func (s *Server) Address() string { return s.addr }

// ListenAddress is the IP:port the frontend listens on, which may be a
// wildcard such as 0.0.0.0:7233.
func (s *Server) ListenAddress() string { return s.listen }

// parseListen splits a frontend listen address into the IP to bind and the IP
// this process dials it on: loopback for a wildcard, since every service of
// the server runs here. Temporal binds IPs only, so names other than
// localhost are refused.
func parseListen(addr string) (bindIP, dialIP string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", 0, fmt.Errorf("embedded temporal: listen address %q: want IP:port: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", "", 0, fmt.Errorf("embedded temporal: listen address %q: port %q is not a number from 0 to 65535", addr, p)
	}
	switch h {
	case "", "0.0.0.0":
		return "0.0.0.0", "127.0.0.1", port, nil
	case "::":
		return "::", "::1", port, nil
	case "localhost":
		return "127.0.0.1", "127.0.0.1", port, nil
	}
	if net.ParseIP(h) == nil {
		return "", "", 0, fmt.Errorf("embedded temporal: listen address %q: host must be an IP address (or localhost)", addr)
	}
	return h, h, port, nil
}

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop shuts all services down and closes the database.
func (s *Server) Stop() error {
	defer s.release()
	return s.srv.Stop()
}

// freePorts finds n ports free on loopback for the services to listen on.
// The services bind them only later, so a port must stay free meanwhile:
// they are drawn at random below Linux's ephemeral range (32768 and up by
// default), where no outgoing connection takes one, rather than from the
// kernel's pick of an ephemeral port, which the next connection anywhere on
// the machine may reuse (seen: a service failing to bind, then a panic in
// gRPC's server). Failing that, the kernel picks.
func freePorts(n int) ([]int, error) {
	const lo, hi = 20000, 32000
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		addr := "127.0.0.1:0"
		if tries < 100*n {
			addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo)))
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if addr != "127.0.0.1:0" {
				continue // taken: draw again
			}
			return nil, fmt.Errorf("embedded temporal: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
