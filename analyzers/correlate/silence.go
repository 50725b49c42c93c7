package correlate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Silence mutes the alerts its matchers match while it is active. Silences are
// created from chat or the API, so each carries who made it and why.
type Silence struct {
	ID       string
	Matchers Matchers
	StartsAt time.Time
	EndsAt   time.Time
	// CreatedBy is the author's verified identity; Comment says why.
	CreatedBy string
	Comment   string
}

// ActiveAt reports whether the silence is in force at t: from StartsAt through
// EndsAt, both included, as Alertmanager's silence states are (pending before
// the start, expired only after the end).
func (s Silence) ActiveAt(t time.Time) bool {
	return !t.Before(s.StartsAt) && !t.After(s.EndsAt)
}

// Validate applies Alertmanager's rules for a new silence at now: an id, at
// least one matcher and one that does not match the empty string (so it
// cannot silence everything by accident), an end not before the start and not
// in the past, an author and a comment.
func (s Silence) Validate(now time.Time) error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errors.New("id is required"))
	}
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("at least one matcher is required"))
	} else if !slices.ContainsFunc(s.Matchers, func(m Matcher) bool { return !m.Matches(map[string]string{}) }) {
		errs = append(errs, fmt.Errorf("matchers %s all match the empty string, which would silence every alert; add one that does not", s.Matchers))
	}
	if s.EndsAt.Before(s.StartsAt) {
		errs = append(errs, fmt.Errorf("ends %s before it starts %s", s.EndsAt.UTC().Format(time.RFC3339), s.StartsAt.UTC().Format(time.RFC3339)))
	}
	if s.EndsAt.Before(now) {
		errs = append(errs, fmt.Errorf("ends %s, in the past", s.EndsAt.UTC().Format(time.RFC3339)))
	}
	if s.CreatedBy == "" {
		errs = append(errs, errors.New("author (created_by) is required"))
	}
	if s.Comment == "" {
		errs = append(errs, errors.New("comment is required: say why the alerts are silenced"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("silence %q: %w", s.ID, err)
	}
	return nil
}

// ErrUnknownSilence is returned for a silence id that is not known.
var ErrUnknownSilence = errors.New("unknown silence")

// Silences is a set of silences by id.
type Silences struct {
	byID map[string]Silence
}

// NewSilences returns an empty set.
func NewSilences() *Silences { return &Silences{byID: map[string]Silence{}} }

// Set validates s at now and stores it, replacing the silence with its id.
func (ss *Silences) Set(s Silence, now time.Time) error {
	if err := s.Validate(now); err != nil {
		return err
	}
	ss.byID[s.ID] = s
	return nil
}

// Restore stores s as it is, without validation: a silence validated when it
// was made, read back from storage (it may have expired since).
func (ss *Silences) Restore(s Silence) { ss.byID[s.ID] = s }

// Expire ends a silence at now: an active one now, a pending one before it
// ever starts. Expiring an expired silence is an error, as in Alertmanager.
func (ss *Silences) Expire(id string, now time.Time) error {
	s, ok := ss.byID[id]
	switch {
	case !ok:
		return fmt.Errorf("silence %q: %w", id, ErrUnknownSilence)
	case now.After(s.EndsAt):
		return fmt.Errorf("silence %q already expired at %s", id, s.EndsAt.UTC().Format(time.RFC3339))
	case now.Before(s.StartsAt):
		s.StartsAt = now
	}
	s.EndsAt = now
	ss.byID[id] = s
	return nil
}

// Get returns the silence with id.
func (ss *Silences) Get(id string) (Silence, bool) {
	s, ok := ss.byID[id]
	return s, ok
}

// Mutes reports whether an active silence matches labels at t.
func (ss *Silences) Mutes(labels map[string]string, at time.Time) bool {
	for _, s := range ss.byID {
		if s.ActiveAt(at) && s.Matchers.Matches(labels) {
			return true
		}
	}
	return false
}

// Silencing returns the ids of the silences muting labels at t, sorted, so a
// thread can say who silenced an alert and why.
func (ss *Silences) Silencing(labels map[string]string, at time.Time) []string {
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(ss.byID)) {
		if s := ss.byID[id]; s.ActiveAt(at) && s.Matchers.Matches(labels) {
			ids = append(ids, id)
		}
	}
	return ids
}
