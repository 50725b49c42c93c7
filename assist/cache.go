package assist

import (
	"container/list"
	"sync"
)

// cache remembers validated model outputs by request: the SHA-256 of the model
// name and the redacted request (messages, schema, limits). An identical request
// (a retried activity, the same question asked twice with nothing new in the
// timeline) is answered without calling the endpoint or spending tokens. Only
// outputs that passed validation are kept. It is a fixed-size LRU, safe for
// concurrent use.
type cache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key    string
	output string
}

func newCache(size int) *cache {
	return &cache{size: size, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *cache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).output, true
}

func (c *cache) put(key, output string) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		el.Value.(*cacheEntry).output = output
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, output: output})
	if c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
}
