package bot

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// recorder is a surface that records posts; batch makes it a BatchSurface.
type recorder struct {
	posts   []string
	batches int
	fail    string // key whose post fails
}

func (r *recorder) Post(_ context.Context, incidentID, key string, _ Message) error {
	if key == r.fail {
		return errors.New("surface down")
	}
	r.posts = append(r.posts, incidentID+"/"+key)
	return nil
}

type batchRecorder struct{ recorder }

func (r *batchRecorder) PostMany(ctx context.Context, posts []Post) error {
	r.batches++
	for _, p := range posts {
		if err := r.Post(ctx, p.IncidentID, p.Key, p.Message); err != nil {
			return err
		}
	}
	return nil
}

func TestPostAll(t *testing.T) {
	posts := []Post{{IncidentID: "i1", Key: "summary"}, {IncidentID: "i1", Key: "evidence-E1"}, {IncidentID: "i1", Key: "evidence-E2"}}
	want := []string{"i1/summary", "i1/evidence-E1", "i1/evidence-E2"}
	t.Run("a surface without batches gets each post, in order", func(t *testing.T) {
		r := &recorder{}
		if err := PostAll(context.Background(), r, posts); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.posts, want) {
			t.Errorf("posted %v, want %v", r.posts, want)
		}
	})
	t.Run("a batch surface gets one batch", func(t *testing.T) {
		r := &batchRecorder{}
		if err := PostAll(context.Background(), r, posts); err != nil {
			t.Fatal(err)
		}
		if r.batches != 1 || !slices.Equal(r.posts, want) {
			t.Errorf("%d batches posting %v, want 1 posting %v", r.batches, r.posts, want)
		}
	})
	t.Run("a failure stops the posts and is returned", func(t *testing.T) {
		r := &recorder{fail: "evidence-E1"}
		if err := PostAll(context.Background(), r, posts); err == nil {
			t.Fatal("no error")
		}
		if !slices.Equal(r.posts, want[:1]) {
			t.Errorf("posted %v, want only %v", r.posts, want[:1])
		}
	})
	t.Run("fanout: every surface gets every post, a failing one does not stop the others", func(t *testing.T) {
		down, batch := &recorder{fail: "summary"}, &batchRecorder{}
		err := PostAll(context.Background(), Fanout{down, batch}, posts)
		if err == nil {
			t.Error("no error from the failing surface")
		}
		if batch.batches != 1 || !slices.Equal(batch.posts, want) {
			t.Errorf("batch surface: %d batches posting %v", batch.batches, batch.posts)
		}
	})
}
