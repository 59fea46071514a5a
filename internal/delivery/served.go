package delivery

import (
	"strings"
	"sync"
)

// ServedInsertionsDefault is the default of Options.ServedInsertions.
const ServedInsertionsDefault = 1 << 20

// servedMap remembers the content of recently served insertions, so that
// impressions and actions that name only an insertionId can be given
// their contentId. It holds two generations: when the current one is
// full it becomes the previous one and the oldest is forgotten, which
// bounds memory without bookkeeping per entry.
type servedMap struct {
	mu        sync.Mutex
	cur, prev map[string]string
	half      int
}

func newServedMap(max int) *servedMap {
	half := max/2 + 1
	return &servedMap{cur: make(map[string]string), half: half}
}

func (m *servedMap) add(insertionID, contentID string) {
	if insertionID == "" || contentID == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cur) >= m.half {
		m.prev, m.cur = m.cur, make(map[string]string)
	}
	// Both may share a request body (package deliveryjson).
	m.cur[strings.Clone(insertionID)] = strings.Clone(contentID)
}

func (m *servedMap) content(insertionID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cur[insertionID]; ok {
		return c
	}
	return m.prev[insertionID]
}
