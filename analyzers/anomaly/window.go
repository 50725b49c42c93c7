package anomaly

import "slices"

// rollingWindow holds the last len(ring) values of a stream twice: in arrival
// order (a ring) and sorted, so that the median is O(1) and the median
// absolute deviation O(log n). Adding a value costs two binary searches and
// one memmove within the sorted copy, and never allocates.
type rollingWindow struct {
	ring   []float64
	sorted []float64 // the values of ring[:n], ascending
	next   int       // ring index the next value goes to
	n      int       // values held, ≤ len(ring)
}

func newRollingWindow(size int) rollingWindow {
	return rollingWindow{ring: make([]float64, size), sorted: make([]float64, 0, size)}
}

func (w *rollingWindow) reset() {
	w.next, w.n = 0, 0
	w.sorted = w.sorted[:0]
}

// add appends x, evicting the oldest value once the window is full. x must
// not be NaN.
func (w *rollingWindow) add(x float64) {
	if w.n < len(w.ring) {
		w.ring[w.next] = x
		w.next = (w.next + 1) % len(w.ring)
		w.n++
		w.sorted = slices.Insert(w.sorted, lowerBound(w.sorted, x), x)
		return
	}
	old := w.ring[w.next]
	w.ring[w.next] = x
	w.next = (w.next + 1) % len(w.ring)
	// Replace old by x in sorted, shifting only the values between them.
	s := w.sorted
	i := lowerBound(s, old)
	switch {
	case x > old:
		j := i + lowerBound(s[i+1:], x)
		copy(s[i:j], s[i+1:j+1])
		s[j] = x
	case x < old:
		j := lowerBound(s[:i], x)
		copy(s[j+1:i+1], s[j:i])
		s[j] = x
	}
}

// median of the held values; the window must not be empty.
func (w *rollingWindow) median() float64 {
	s := w.sorted
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// mad returns the median absolute deviation of the held values from m
// (normally their median), without the 1.4826 consistency factor. The window
// must not be empty.
func (w *rollingWindow) mad(m float64) float64 {
	s := w.sorted
	n := len(s)
	p := lowerBound(s, m) // s[:p] < m ≤ s[p:]
	if n%2 == 1 {
		return kthDeviation(s[:p], s[p:], m, n/2)
	}
	return (kthDeviation(s[:p], s[p:], m, n/2-1) + kthDeviation(s[:p], s[p:], m, n/2)) / 2
}

// kthDeviation returns the k-th smallest (from 0) of |x − m| over x in lo
// and hi, where lo holds ascending values below m and hi ascending values at
// or above it. Read outwards from m, both halves give ascending deviations,
// so this is the k-th element of a merge of two sorted sequences, found by
// binary search on how many of the k+1 smallest come from lo: O(log n).
func kthDeviation(lo, hi []float64, m float64, k int) float64 {
	a := func(i int) float64 { return m - lo[len(lo)-1-i] } // ascending in i
	b := func(i int) float64 { return hi[i] - m }           // ascending in i
	l, h := max(0, k+1-len(hi)), min(k+1, len(lo))
	for l < h {
		i := (l + h) / 2 // take i from lo and j from hi
		if j := k + 1 - i; j > 0 && a(i) < b(j-1) {
			l = i + 1
		} else {
			h = i
		}
	}
	i, j := l, k+1-l
	switch {
	case i == 0:
		return b(j - 1)
	case j == 0:
		return a(i - 1)
	}
	return max(a(i-1), b(j-1))
}

// lowerBound returns the first index i of ascending s with s[i] ≥ x, or
// len(s). It is slices.BinarySearch without the NaN-aware comparisons
// (windows never hold NaN); these searches are the largest part of Update's
// cost.
func lowerBound(s []float64, x float64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
