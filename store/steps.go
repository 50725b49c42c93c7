package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigilops/vigil/incident"
)

// StepRun is the durable record of one step execution.
type StepRun struct {
	Key        string
	StartedAt  time.Time
	FinishedAt time.Time // zero while running, or when interrupted
	Result     *incident.StepResult
}

// StepRun returns the record for key, or ErrNotFound.
func (s *Store) StepRun(ctx context.Context, key string) (StepRun, error) {
	r := StepRun{Key: key}
	var started string
	var finished, result sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT started_at, finished_at, result FROM step_runs WHERE key = ?`, key).Scan(&started, &finished, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("step run %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: step run %s: %w", key, err)
	}
	r.StartedAt, r.FinishedAt = parseTS(started), parseTS(finished.String)
	if result.Valid {
		r.Result = new(incident.StepResult)
		if err := json.Unmarshal([]byte(result.String), r.Result); err != nil {
			return r, fmt.Errorf("store: step run %s: corrupt result: %w", key, err)
		}
	}
	return r, nil
}

// StartStep records, durably, that a step is about to run. It is written before
// the step's process starts, so after a crash the step is known to have possibly
// run. Starting a key that exists again (a deliberate re-run) resets it.
func (s *Store) StartStep(ctx context.Context, key, incidentID, runID, stepID string, now time.Time) error {
	_, err := s.exec(ctx, `
		INSERT INTO step_runs (key, incident_id, run_id, step_id, started_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, result = NULL`,
		key, incidentID, runID, stepID, ts(now))
	if err != nil {
		return fmt.Errorf("store: start step %s: %w", key, err)
	}
	return nil
}

// FinishStep records a step's result.
func (s *Store) FinishStep(ctx context.Context, key string, res incident.StepResult) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("store: finish step %s: %w", key, err)
	}
	_, err = s.exec(ctx, `UPDATE step_runs SET finished_at = ?, result = ? WHERE key = ?`, ts(res.FinishedAt), string(b), key)
	if err != nil {
		return fmt.Errorf("store: finish step %s: %w", key, err)
	}
	return nil
}
