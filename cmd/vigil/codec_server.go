package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/codec"
	"github.com/vigilops/vigil/internal/httpx"
)

type codecServerOptions struct {
	configPath string
	dataDir    string
	listen     string
}

func newCodecServerCmd() *cobra.Command {
	var o codecServerOptions
	cmd := &cobra.Command{
		Use:   "codec-server --config vigil.yaml [--listen ADDR]",
		Short: "Decode Vigil's encrypted workflow payloads for the Temporal UI and CLI, for authorised users",
		Long: `Vigil seals every payload it hands Temporal with the key ring in
temporal.encryption.keys, so Temporal's database and its UI show ciphertext. This
server speaks Temporal's remote codec protocol (POST /decode) so that people
holding a token can read workflow histories in the Temporal UI or CLI.

Callers must send Authorization: Bearer <token> with one of
temporal.encryption.codec_tokens. Configure the Temporal UI with
TEMPORAL_CODEC_ENDPOINT=https://<this server> and TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true
(its users' tokens must then be codec tokens), or per user in the UI's
"Codec server" settings; list the UI's origin in temporal.encryption.codec_origins
so browsers may call it. The CLI decodes with
temporal workflow show --codec-endpoint URL --codec-auth "Bearer <token>".

Serve it over TLS (behind your proxy): the tokens and decoded payloads cross the
wire. Without keys in --config it uses the development key of --data-dir.`,
		Example: `  vigil codec-server --config /etc/vigil/vigil.yaml --listen 127.0.0.1:8089`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := o.handler()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveCodec(ctx, o.listen, h, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "vigil.yaml with temporal.encryption (keys and codec_tokens)")
	f.StringVar(&o.dataDir, "data-dir", config.Default().DataDir, "data directory of vigil dev, whose payload key is used when --config has no keys")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8089", "address to serve on")
	return cmd
}

// handler builds the codec handler from the configuration.
func (o *codecServerOptions) handler() (http.Handler, error) {
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return nil, err
	}
	enc := cfg.Temporal.Encryption
	if len(enc.Keys) == 0 {
		if _, err := os.Stat(filepath.Join(o.dataDir, app.DevPayloadKeyFile)); err != nil {
			return nil, fmt.Errorf("%w (set it in --config, or point --data-dir at vigil dev's data directory)", app.ErrNoCodecKeys)
		}
		key, err := app.DevPayloadKey(o.dataDir)
		if err != nil {
			return nil, err
		}
		enc.Keys = []config.EncryptionKey{key}
	}
	c, err := app.NewCodec(enc)
	if err != nil {
		return nil, err
	}
	var tokens []string
	for i, t := range enc.CodecTokens {
		v, err := t.Resolve()
		if err != nil {
			return nil, fmt.Errorf("temporal.encryption.codec_tokens[%d]: %w", i, err)
		}
		tokens = append(tokens, strings.TrimSpace(v))
	}
	h, err := codec.Handler(c, codec.HandlerOptions{Tokens: tokens, Origins: enc.CodecOrigins})
	if err != nil {
		return nil, err
	}
	return httpx.SecurityHeaders(h), nil
}

// serveCodec serves h on addr until ctx ends.
func serveCodec(ctx context.Context, addr string, h http.Handler, out io.Writer) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "Vigil codec server on http://%s (POST /decode)\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("codec server: %w", err)
	}
	return nil
}
