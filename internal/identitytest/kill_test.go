package identitytest

// runKilledChild is the child process of TestKilledSplit (placeholder).
func runKilledChild() {}
