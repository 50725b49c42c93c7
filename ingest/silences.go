package ingest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// SilenceStore keeps silences durably.
type SilenceStore interface {
	PutSilence(ctx context.Context, s store.Silence, now time.Time) error
	Silences(ctx context.Context) ([]store.Silence, error)
	SilencesRevision(ctx context.Context) (int64, error)
}

// Silences are Alertmanager-style silences: while one is active, a new firing
// alert its matchers match is stored but opens and joins no incident. They
// are kept in the store and, for ingest, in memory; the store asks Silencing
// (store.Muter) for every new firing alert. Safe for concurrent use.
type Silences struct {
	store  SilenceStore
	logger *slog.Logger
	now    func() time.Time

	mu  sync.Mutex
	set *correlate.Silences
	all map[string]store.Silence // as stored, for the API
	rev int64                    // the store's silences revision set and all were read at
}

// LoadSilences reads the stored silences.
func LoadSilences(ctx context.Context, st SilenceStore, logger *slog.Logger) (*Silences, error) {
	s := &Silences{store: st, logger: logger, now: time.Now, set: correlate.NewSilences(), all: map[string]store.Silence{}, rev: -1}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

var _ store.Refresher = (*Silences)(nil)

// Refresh reloads the silences when the store's have changed since they were
// last read (through any replica): the store calls it before each batch is
// routed (store.Refresher).
func (s *Silences) Refresh(ctx context.Context) error {
	rev, err := s.store.SilencesRevision(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	current := rev == s.rev
	s.mu.Unlock()
	if current {
		return nil
	}
	stored, err := s.store.Silences(ctx)
	if err != nil {
		return err
	}
	set, all := correlate.NewSilences(), make(map[string]store.Silence, len(stored))
	for _, sl := range stored {
		c, err := toCorrelate(sl)
		if err != nil {
			return fmt.Errorf("silence %s: %w", sl.ID, err)
		}
		set.Restore(c)
		all[sl.ID] = sl
	}
	s.mu.Lock()
	s.set, s.all, s.rev = set, all, rev
	s.mu.Unlock()
	return nil
}

// Silencing implements store.Muter.
func (s *Silences) Silencing(labels map[string]string, at time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.Silencing(labels, at)
}

func toCorrelate(sl store.Silence) (correlate.Silence, error) {
	c := correlate.Silence{ID: sl.ID, StartsAt: sl.StartsAt, EndsAt: sl.EndsAt, CreatedBy: sl.CreatedBy, Comment: sl.Comment}
	var errs []error
	for i, text := range sl.Matchers {
		m, err := runbooks.ParseMatcher(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("matchers[%d]: %w", i, err))
			continue
		}
		c.Matchers = append(c.Matchers, m)
	}
	return c, errors.Join(errs...)
}

// Register adds the API: POST /api/v1/silences creates one, GET lists them,
// DELETE /api/v1/silences/{id} expires one. wrap guards each route (bearer
// tokens, like the other ingest endpoints).
func (s *Silences) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("POST /api/v1/silences", wrap(http.HandlerFunc(s.create)))
	mux.Handle("GET /api/v1/silences", wrap(http.HandlerFunc(s.list)))
	mux.Handle("DELETE /api/v1/silences/{id}", wrap(http.HandlerFunc(s.expire)))
}

// SilenceRequest is the body of POST /api/v1/silences.
type SilenceRequest struct {
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at,omitzero"` // default now
	EndsAt    time.Time `json:"ends_at,omitzero"`   // or duration
	Duration  string    `json:"duration,omitempty"` // e.g. "2h", from the start
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
}

// SilenceView is a silence as the API shows it, with its state now.
type SilenceView struct {
	store.Silence
	State string `json:"state"` // pending, active or expired
}

func (s *Silences) view(sl store.Silence, now time.Time) SilenceView {
	state := "active"
	switch {
	case !now.Before(sl.EndsAt):
		state = "expired" // an expiry ends the silence at once
	case now.Before(sl.StartsAt):
		state = "pending"
	}
	return SilenceView{Silence: sl, State: state}
}

// SilenceProblems lists what is wrong with a silence request; nothing was
// created.
type SilenceProblems []string

func (p SilenceProblems) Error() string { return "silence not created: " + strings.Join(p, "; ") }

// ErrSilenceExpired is Expire's answer for a silence already over; an unknown
// id gets correlate.ErrUnknownSilence.
var ErrSilenceExpired = errors.New("silence already expired")

// Create validates and stores a new silence, then puts it in force. Problems
// with the request come back as SilenceProblems.
func (s *Silences) Create(ctx context.Context, req SilenceRequest) (SilenceView, error) {
	now := s.now().UTC()
	sl := store.Silence{ID: newSilenceID(), Matchers: req.Matchers, StartsAt: req.StartsAt, EndsAt: req.EndsAt,
		CreatedBy: strings.TrimSpace(req.CreatedBy), Comment: strings.TrimSpace(req.Comment), CreatedAt: now}
	if sl.StartsAt.IsZero() {
		sl.StartsAt = now
	}
	var problems SilenceProblems
	if req.Duration != "" {
		d, err := time.ParseDuration(req.Duration)
		switch {
		case err != nil || d <= 0:
			problems = append(problems, fmt.Sprintf("duration: %q is not a positive duration such as 30m or 2h", req.Duration))
		case !req.EndsAt.IsZero():
			problems = append(problems, "give ends_at or duration, not both")
		default:
			sl.EndsAt = sl.StartsAt.Add(d)
		}
	} else if req.EndsAt.IsZero() {
		problems = append(problems, "ends_at or duration is required: a silence must end")
	}
	c, err := toCorrelate(sl)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		if err := c.Validate(now); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return SilenceView{}, problems
	}
	// Durable first: a silence the store does not have is not in force. No
	// lock of s is held meanwhile: ingest holds the store's write lock while
	// it asks Silencing.
	if err := s.store.PutSilence(ctx, sl, now); err != nil {
		return SilenceView{}, err
	}
	s.mu.Lock()
	s.set.Restore(c)
	s.all[sl.ID] = sl
	s.mu.Unlock()
	s.logger.Info("silence created", "id", sl.ID, "matchers", sl.Matchers, "ends_at", sl.EndsAt, "by", sl.CreatedBy)
	return s.view(sl, now), nil
}

// Expire ends a silence now.
func (s *Silences) Expire(ctx context.Context, id string) (SilenceView, error) {
	now := s.now().UTC()
	if err := s.Refresh(ctx); err != nil { // it may have been made on another replica
		return SilenceView{}, err
	}
	s.mu.Lock()
	sl, ok := s.all[id]
	s.mu.Unlock()
	switch {
	case !ok:
		return SilenceView{}, fmt.Errorf("%w %q", correlate.ErrUnknownSilence, id)
	case !now.Before(sl.EndsAt):
		return SilenceView{}, fmt.Errorf("%w at %s: %q", ErrSilenceExpired, sl.EndsAt.Format(time.RFC3339), id)
	}
	if now.Before(sl.StartsAt) {
		sl.StartsAt = now
	}
	sl.EndsAt = now
	if err := s.store.PutSilence(ctx, sl, now); err != nil {
		return SilenceView{}, err
	}
	s.mu.Lock()
	if err := s.set.Expire(id, now); err != nil {
		s.logger.Warn("silences: expire", "id", id, "err", err)
	}
	s.all[id] = sl
	s.mu.Unlock()
	s.logger.Info("silence expired", "id", id)
	return s.view(sl, now), nil
}

// List returns every silence, newest first, with its state now, including
// those made through other replicas (when the store cannot be read, the last
// known ones, and the failure is logged).
func (s *Silences) List() []SilenceView {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Refresh(ctx); err != nil {
		s.logger.Warn("silences: listing the last known silences", "err", err)
	}
	now := s.now().UTC()
	s.mu.Lock()
	out := make([]SilenceView, 0, len(s.all))
	for _, sl := range s.all {
		out = append(out, s.view(sl, now))
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b SilenceView) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// SilenceFor creates a silence from now for d (commands.Silencer).
func (s *Silences) SilenceFor(ctx context.Context, matchers []string, d time.Duration, by, comment string) (store.Silence, error) {
	v, err := s.Create(ctx, SilenceRequest{Matchers: matchers, Duration: d.String(), CreatedBy: by, Comment: comment})
	return v.Silence, err
}

// ExpireSilence ends a silence now (commands.Silencer).
func (s *Silences) ExpireSilence(ctx context.Context, id string) (store.Silence, error) {
	v, err := s.Expire(ctx, id)
	return v.Silence, err
}

// CurrentSilences are the silences not yet expired, newest first
// (commands.Silencer).
func (s *Silences) CurrentSilences() []store.Silence {
	var out []store.Silence
	for _, v := range s.List() {
		if v.State != "expired" {
			out = append(out, v.Silence)
		}
	}
	return out
}

func (s *Silences) create(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		httpx.WriteError(w, err)
		return
	}
	v, err := s.Create(r.Context(), req)
	var problems SilenceProblems
	switch {
	case errors.As(err, &problems):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "silence not created", Problems: problems})
	case err != nil:
		s.logger.Error("silences: store", "err", err)
		httpx.WriteError(w, &httpx.Error{Status: http.StatusServiceUnavailable, Message: "the silence could not be stored; nothing was created, retry"})
	default:
		httpx.WriteJSON(w, http.StatusCreated, v)
	}
}

func (s *Silences) list(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"silences": s.List()})
}

func (s *Silences) expire(w http.ResponseWriter, r *http.Request) {
	v, err := s.Expire(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, correlate.ErrUnknownSilence):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusNotFound, Message: err.Error()})
	case errors.Is(err, ErrSilenceExpired):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusConflict, Message: err.Error()})
	case err != nil:
		s.logger.Error("silences: store", "err", err)
		httpx.WriteError(w, &httpx.Error{Status: http.StatusServiceUnavailable, Message: "the expiry could not be stored; the silence is unchanged, retry"})
	default:
		httpx.WriteJSON(w, http.StatusOK, v)
	}
}

func newSilenceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
