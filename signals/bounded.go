package signals

// promoteAfter is how many uses (samples or lines) move a key from probation
// to established.
const promoteAfter = 8

// bounded maps keys to per-key state, holding at most max keys. Keys start on
// probation and become established after promoteAfter uses; at the cap, the
// least recently used key on probation is evicted first, else the least
// recently used established key. It is not safe for concurrent use.
type bounded[V any] struct {
	max         int
	m           map[string]*entry[V]
	probation   list[V] // most recently used first
	established list[V]
	evictions   int64
}

type entry[V any] struct {
	key         string
	val         V
	uses        int
	established bool
	prev, next  *entry[V]
}

func newBounded[V any](max int) *bounded[V] {
	b := &bounded[V]{max: max, m: make(map[string]*entry[V])}
	b.probation.init()
	b.established.init()
	return b
}

// peek returns the state of key without counting a use.
func (b *bounded[V]) peek(key string) (V, bool) {
	e, ok := b.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	return e.val, true
}

// use returns the state of key, creating it with create if it is absent
// (evicting another key at the cap), and counts n uses of it. evicted
// reports whether a key was evicted to make room.
func (b *bounded[V]) use(key string, n int, create func() V) (v V, evicted bool) {
	e, ok := b.m[key]
	if !ok {
		if len(b.m) >= b.max {
			b.evict()
			evicted = true
		}
		e = &entry[V]{key: key, val: create()}
		b.m[key] = e
		b.probation.pushFront(e)
	} else {
		b.listOf(e).remove(e)
		b.listOf(e).pushFront(e)
	}
	e.uses += n
	if !e.established && e.uses >= promoteAfter {
		b.probation.remove(e)
		e.established = true
		b.established.pushFront(e)
	}
	return e.val, evicted
}

// each calls f for every key's state, in no particular order.
func (b *bounded[V]) each(f func(V)) {
	for _, e := range b.m {
		f(e.val)
	}
}

func (b *bounded[V]) len() int { return len(b.m) }

func (b *bounded[V]) listOf(e *entry[V]) *list[V] {
	if e.established {
		return &b.established
	}
	return &b.probation
}

func (b *bounded[V]) evict() {
	l := &b.probation
	if l.empty() {
		l = &b.established
	}
	e := l.back()
	l.remove(e)
	delete(b.m, e.key)
	b.evictions++
}

// list is an intrusive doubly linked list with a sentinel.
type list[V any] struct{ root entry[V] }

func (l *list[V]) init()           { l.root.next, l.root.prev = &l.root, &l.root }
func (l *list[V]) empty() bool     { return l.root.next == &l.root }
func (l *list[V]) back() *entry[V] { return l.root.prev }

func (l *list[V]) remove(e *entry[V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (l *list[V]) pushFront(e *entry[V]) {
	first := l.root.next
	e.prev, e.next = &l.root, first
	first.prev = e
	l.root.next = e
}
