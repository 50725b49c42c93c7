// Package devtemporal runs a real Temporal server inside the current process,
// persisted to a SQLite file. It backs `vigil dev` and end-to-end tests; production
// points Vigil at an external cluster instead. Only cmd/vigil and tests import it,
// because it links the whole Temporal server.
package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Namespace is registered before start (default "default").
	Namespace string
	// FrontendPort is the gRPC port clients dial on 127.0.0.1; 0 picks a free port.
	FrontendPort int
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	srv       temporal.Server
	addr      string
	namespace string
}

// Start prepares the database (schema and namespace on first use) and starts the
// frontend, history, matching and worker services on loopback ports with static
// membership. It returns once the frontend answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	if opts.FrontendPort != 0 {
		ports[0] = opts.FrontendPort
	}
	host := "127.0.0.1"
	addrs := make([]string, len(ports))
	for i, p := range ports {
		addrs[i] = net.JoinHostPort(host, strconv.Itoa(p))
	}

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
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
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
		cfg.Services[string(s)] = config.Service{RPC: config.RPC{GRPCPort: ports[i], BindOnIP: host}}
		hosts[s] = static.SingleLocalHost(addrs[i])
		names[i] = string(s)
	}

	var logger tlog.Logger = tlog.NewNoopLogger()
	if opts.Logger != nil {
		logger = newSlogAdapter(opts.Logger.With("component", "temporal"))
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
		return nil, fmt.Errorf("embedded temporal: build server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("embedded temporal: start: %w", err)
	}
	s := &Server{srv: srv, addr: addrs[0], namespace: opts.Namespace}
	if err := s.waitReady(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return s, nil
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

// Address is the frontend host:port for client.Dial.
func (s *Server) Address() string { return s.addr }

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop shuts all services down and closes the database.
func (s *Server) Stop() error { return s.srv.Stop() }

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("embedded temporal: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
