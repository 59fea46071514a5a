package erasure

// SetChunkHook makes erasures take n entities a transaction and call fn
// after each; the returned function restores the defaults.
func SetChunkHook(n int, fn func()) (restore func()) {
	chunkEntities, afterChunk = n, fn
	return func() { chunkEntities, afterChunk = ChunkEntities, func() {} }
}
