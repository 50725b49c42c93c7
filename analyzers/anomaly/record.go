package anomaly

import "math"

// recordBlocks is how many blocks recordMax splits its horizon into; the
// horizon slides one block at a time.
const recordBlocks = 16

// recordMax is the largest value of a stream over roughly the last horizon
// points, kept as the maxima of recordBlocks consecutive blocks: O(1) memory
// and time, and the horizon it covers varies by at most one block.
type recordMax struct {
	blocks   [recordBlocks]float64 // −Inf where nothing was added
	blockLen int
	next     int // block the next value goes to
	fill     int // values in blocks[next]
	// closed is the maximum of every block but blocks[next], recomputed
	// when a block closes, so max is O(1).
	closed float64
}

func newRecordMax(horizon int) recordMax {
	r := recordMax{blockLen: max(1, horizon/recordBlocks)}
	r.reset()
	return r
}

func (r *recordMax) reset() {
	for i := range r.blocks {
		r.blocks[i] = math.Inf(-1)
	}
	r.next, r.fill, r.closed = 0, 0, math.Inf(-1)
}

// max returns the largest value held, or 0 when empty.
func (r *recordMax) max() float64 {
	m := max(r.closed, r.blocks[r.next])
	if math.IsInf(m, -1) {
		return 0
	}
	return m
}

// add folds in x, evicting the oldest block when a new block starts.
func (r *recordMax) add(x float64) {
	if r.fill == r.blockLen {
		r.next = (r.next + 1) % recordBlocks
		r.blocks[r.next], r.fill = math.Inf(-1), 0
		r.closed = math.Inf(-1)
		for _, b := range r.blocks {
			r.closed = max(r.closed, b)
		}
	}
	r.blocks[r.next] = max(r.blocks[r.next], x)
	r.fill++
}
