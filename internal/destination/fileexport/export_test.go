package fileexport

// SetEngineParquet turns DuckDB's own Parquet writer on or off (off: the
// Go writer, as on PostgreSQL), for tests and benchmarks of both; it
// returns a function that restores the setting.
func SetEngineParquet(on bool) func() {
	old := engineParquet
	engineParquet = on
	return func() { engineParquet = old }
}
