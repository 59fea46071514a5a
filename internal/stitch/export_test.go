package stitch

// DisableIndex makes e search the tables instead of its in-memory index.
func DisableIndex(e *Engine) { e.noIndex = true }

// NarrowKeyHash makes e's key hashes (and its index's) collide: only the
// low bits are kept.
func NarrowKeyHash(e *Engine, bits uint) { e.hashMask = 1<<bits - 1 }

// BeforeWrite makes e call f between each pass's resolve and write.
func BeforeWrite(e *Engine, f func()) { e.beforeWrite = f }

// CarriedUsed is how many events' identifiers re-clusterings took from
// the index instead of reading them from the log again.
func CarriedUsed(e *Engine) int { return e.carriedUsed }

// LoggedUsed is how many events' identifiers re-clusterings read from the
// log.
func LoggedUsed(e *Engine) int { return e.loggedUsed }

// PassByPass makes e's rebuilds write each pass as Run does, instead of
// keeping their state for one write at the end.
func PassByPass(e *Engine) { e.noBulk = true }

// IndexMappedBytes is how much the engine's index has mapped outside the
// Go heap (0 without an index).
func IndexMappedBytes(e *Engine) int64 {
	if e.idx == nil {
		return 0
	}
	return e.idx.mem.Bytes()
}

// DropIndex forgets the engine's index, as a failed pass does.
func DropIndex(e *Engine) { e.idx = nil }

// IDsRead is how many events' ids re-clusterings read from the log.
func IDsRead(e *Engine) int { return e.idsRead }

// CopyMoves makes every re-clustering of e move its old event mappings by
// copying them, as one of copyMoveMin or more does.
func CopyMoves(e *Engine) { e.copyMoves = true }
