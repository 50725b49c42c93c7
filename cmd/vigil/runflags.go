package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigilops/vigil/config"
)

// runFlags are the flags vigil dev and vigil serve share: where the
// configuration, data, Temporal, the HTTP listener and the runbooks are.
type runFlags struct {
	configPath  string
	dataDir     string
	temporal    string
	namespace   string
	httpAddr    string
	runbooksDir string
	logLevel    string
}

// runFlagHelp is the help text of the flags whose meaning differs between
// the commands.
type runFlagHelp struct{ dataDir, temporal, httpAddr string }

func (r *runFlags) register(f *pflag.FlagSet, help runFlagHelp) {
	d := config.Default()
	f.StringVar(&r.configPath, "config", "", "vigil.yaml to load (flags override it; default: built-in defaults)")
	f.StringVar(&r.dataDir, "data-dir", d.DataDir, help.dataDir)
	f.StringVar(&r.temporal, "temporal-address", "", help.temporal)
	f.StringVar(&r.namespace, "namespace", d.Temporal.Namespace, "Temporal namespace")
	f.StringVar(&r.httpAddr, "http-addr", d.HTTP.Addr, help.httpAddr)
	f.StringVar(&r.runbooksDir, "runbooks", d.Runbooks.Dir, "directory of runbook YAML files")
	f.StringVar(&r.logLevel, "log-level", "info", "debug, info, warn or error")
}

// apply overrides cfg with the flags the user set (every flag when there is
// no --config); a --temporal-address given always wins.
func (r *runFlags) apply(cmd *cobra.Command, cfg *config.Config) {
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) || r.configPath == "" {
			*dst = v
		}
	}
	set("data-dir", &cfg.DataDir, r.dataDir)
	set("namespace", &cfg.Temporal.Namespace, r.namespace)
	set("http-addr", &cfg.HTTP.Addr, r.httpAddr)
	set("runbooks", &cfg.Runbooks.Dir, r.runbooksDir)
	if r.temporal != "" {
		cfg.Temporal.Address = r.temporal
	}
}
