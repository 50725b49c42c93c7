package signals

import "sort"

// window keeps the last cap points of a series, oldest first, in a ring.
// Times are unix milliseconds and strictly increasing.
type window struct {
	times  []int64
	values []float64
	start  int // index of the oldest point
	n      int
}

func newWindow(capacity int) window {
	return window{times: make([]int64, capacity), values: make([]float64, capacity)}
}

// push appends a point, dropping the oldest when full.
func (w *window) push(t int64, v float64) {
	c := len(w.times)
	if w.n < c {
		i := (w.start + w.n) % c
		w.times[i], w.values[i] = t, v
		w.n++
		return
	}
	w.times[w.start], w.values[w.start] = t, v
	w.start = (w.start + 1) % c
}

// at returns the i-th oldest point.
func (w *window) at(i int) (int64, float64) {
	j := (w.start + i) % len(w.times)
	return w.times[j], w.values[j]
}

// last returns the newest point's time.
func (w *window) last() (int64, bool) {
	if w.n == 0 {
		return 0, false
	}
	t, _ := w.at(w.n - 1)
	return t, true
}

// find returns the value at time t, if the window holds a point there.
func (w *window) find(t int64) (float64, bool) {
	i := sort.Search(w.n, func(i int) bool { ti, _ := w.at(i); return ti >= t })
	if i == w.n {
		return 0, false
	}
	ti, v := w.at(i)
	return v, ti == t
}

// tail returns the newest max points (all if max <= 0) as unix seconds and
// values, oldest first.
func (w *window) tail(max int) ([]int64, []float64) {
	n := w.n
	if max > 0 && n > max {
		n = max
	}
	times, values := make([]int64, n), make([]float64, n)
	for k := range n {
		t, v := w.at(w.n - n + k)
		times[k], values[k] = t/1000, v
	}
	return times, values
}
