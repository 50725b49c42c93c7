package anomaly

// recordBlocks is how many blocks recordMax splits its horizon into; the
// horizon slides one block at a time.
const recordBlocks = 16

// recordMax is the largest value of a stream over roughly the last horizon
// points, kept as the maxima of recordBlocks consecutive blocks: O(1) memory
// and time, and the horizon it covers varies by at most one block.
type recordMax struct {
	blocks   [recordBlocks]float64
	blockLen int
	next     int // block the next value goes to
	fill     int // values in blocks[next]
}

func newRecordMax(horizon int) recordMax {
	return recordMax{blockLen: max(1, horizon/recordBlocks)}
}

func (r *recordMax) reset() { *r = recordMax{blockLen: r.blockLen} }

// max returns the largest value held, or 0 when empty.
func (r *recordMax) max() float64 {
	m := 0.0
	for _, b := range r.blocks {
		m = max(m, b)
	}
	return m
}

// add folds in x ≥ 0, evicting the oldest block when a new block starts.
func (r *recordMax) add(x float64) {
	if r.fill == r.blockLen {
		r.next = (r.next + 1) % recordBlocks
		r.blocks[r.next], r.fill = 0, 0
	}
	r.blocks[r.next] = max(r.blocks[r.next], x)
	r.fill++
}
