package store

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestTailOffsets(t *testing.T) { eachEngine(t, testTailOffsets) }

func testTailOffsets(t *testing.T) {
	ctx := context.Background()
	st := openTest(t)
	if _, err := st.TailOffset(ctx, "/var/log/app.log"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown path: %v, want ErrNotFound", err)
	}
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	saves := []TailOffset{
		{Path: "/var/log/app.log", Dev: 2049, Inode: 131, Offset: 4096, PrefixLen: 1024, PrefixHash: "ab"},
		// Device and inode numbers use all 64 bits on some filesystems.
		{Path: "/var/log/app.log", Dev: math.MaxUint64, Inode: math.MaxUint64 - 1, Offset: 12, PrefixLen: 12, PrefixHash: "cd"},
	}
	for i, want := range saves {
		if err := st.SaveTailOffset(ctx, want, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := st.TailOffset(ctx, want.Path)
		if err != nil {
			t.Fatal(err)
		}
		want.UpdatedAt = now.Add(time.Duration(i) * time.Second)
		if got != want {
			t.Errorf("save %d: got %+v, want %+v", i, got, want)
		}
	}
}
