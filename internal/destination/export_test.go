package destination

// SetWindowRows makes the changes read ahead at once about n, so that a
// test crosses windows with few changes; the returned func restores it.
func SetWindowRows(n int) (restore func()) {
	old := windowRows
	windowRows = n
	return func() { windowRows = old }
}
