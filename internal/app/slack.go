package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/vigilops/vigil/bot/commands"
	vslack "github.com/vigilops/vigil/bot/slack"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/store"
)

// slackChat is Slack as configured: the surface that posts threads, and the
// app that answers people over Socket Mode or HTTP.
type slackChat struct {
	cfg     config.Slack
	client  *slack.Client
	surface *vslack.Surface
	threads *store.Store
	logger  *slog.Logger
}

// newSlack connects nothing yet; it returns nil when Slack is off.
func newSlack(cfg config.Slack, st *store.Store, logger *slog.Logger) (*slackChat, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	token, err := cfg.BotToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("slack.bot_token: %w", err)
	}
	var opts []slack.Option
	if cfg.SocketMode() {
		appToken, err := cfg.AppToken.Resolve()
		if err != nil {
			return nil, fmt.Errorf("slack.app_token: %w", err)
		}
		opts = append(opts, slack.OptionAppLevelToken(appToken))
	}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	client := slack.New(token, opts...)
	routes := vslack.Routes{Default: cfg.Channel}
	for _, r := range cfg.Routes {
		routes.Rules = append(routes.Rules, vslack.Route{Channel: r.Channel, Severities: r.Severities, Services: r.Services})
	}
	return &slackChat{cfg: cfg, client: client, threads: st, logger: logger,
		surface: &vslack.Surface{API: client, Store: st, Routes: routes, Logger: logger}}, nil
}

// serve wires answering people: over Socket Mode when an app token is set
// (run, non-nil, holds the connection until its context is done), else on
// the HTTP endpoints, registered on mux. wait waits for acts in progress;
// call it once the HTTP server and run have stopped.
func (s *slackChat) serve(mux *http.ServeMux, cmds *commands.Bot) (run func(context.Context), wait func(), err error) {
	app := &vslack.App{
		Bot: cmds, Threads: s.threads, API: s.client, Logger: s.logger,
		Directory: &vslack.Directory{Users: s.cfg.Users, Groups: s.cfg.UserGroups, API: s.client, Logger: s.logger},
	}
	if !s.cfg.SocketMode() {
		secret, err := s.cfg.SigningSecret.Resolve()
		if err != nil {
			return nil, nil, fmt.Errorf("slack.signing_secret: %w", err)
		}
		app.Register(mux, vslack.NewVerifier(secret, nil))
		s.logger.Info("slack: HTTP mode", "events", vslack.PathEvents, "interactivity", vslack.PathInteractive, "commands", vslack.PathCommands)
		return nil, app.Wait, nil
	}
	return func(ctx context.Context) {
		if err := app.RunSocketMode(ctx, socketmode.New(s.client)); err != nil {
			s.logger.Error("slack: socket mode stopped", "err", err)
		}
	}, app.Wait, nil
}
