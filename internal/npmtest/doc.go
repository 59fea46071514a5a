// Package npmtest installs pinned npm packages for tests that run real
// JavaScript programs (blob servers, analytics SDKs): once per user cache
// directory, guarded by a lock file against other test processes, the
// same place scripts/test installs them.
package npmtest
