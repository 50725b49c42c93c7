package devtemporal

import (
	"context"
	"log/slog"

	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogAdapter routes the server's logs into Vigil's slog logger. The embedded server
// is chatty: its Info and Warn (notices about unused features, dial errors while its
// services stop) land at slog Debug; its errors stay errors.
type slogAdapter struct{ l *slog.Logger }

var _ tlog.Logger = slogAdapter{}

func newSlogAdapter(l *slog.Logger) slogAdapter { return slogAdapter{l: l} }

func (a slogAdapter) log(level slog.Level, msg string, tags []tag.Tag) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	a.l.LogAttrs(context.Background(), level, msg, attrs...)
}

func (a slogAdapter) Debug(msg string, tags ...tag.Tag)  { a.log(slog.LevelDebug, msg, tags) }
func (a slogAdapter) Info(msg string, tags ...tag.Tag)   { a.log(slog.LevelDebug, msg, tags) }
func (a slogAdapter) Warn(msg string, tags ...tag.Tag)   { a.log(slog.LevelDebug, msg, tags) }
func (a slogAdapter) Error(msg string, tags ...tag.Tag)  { a.log(slog.LevelError, msg, tags) }
func (a slogAdapter) DPanic(msg string, tags ...tag.Tag) { a.log(slog.LevelError, msg, tags) }
func (a slogAdapter) Panic(msg string, tags ...tag.Tag)  { a.log(slog.LevelError, msg, tags) }
func (a slogAdapter) Fatal(msg string, tags ...tag.Tag)  { a.log(slog.LevelError, msg, tags) }

// discardSDKLogger silences the SDK client used only for the readiness probe.
type discardSDKLogger struct{}

func (discardSDKLogger) Debug(string, ...any) {}
func (discardSDKLogger) Info(string, ...any)  {}
func (discardSDKLogger) Warn(string, ...any)  {}
func (discardSDKLogger) Error(string, ...any) {}
