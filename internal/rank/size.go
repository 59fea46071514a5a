package rank

// Byte accounting of the in-memory state. The figures are what the Go
// runtime really holds for each piece on 64-bit platforms: a string or
// slice header, the bytes behind it, and for a map entry its key and value
// slots plus the control byte, spread over the free slots a Swiss-table
// map keeps (its groups are at most 7/8 full and half full after growing,
// so we count the slots at 10/7 of their size).
const (
	stringHeader = 16
	sliceHeader  = 24
	int32Size    = 4
	float64Size  = 8
	// actionCountSize is sizeof(actionCount): a uint32 padded to 8 and a float64.
	actionCountSize = 16
	// contentStatsSize is sizeof(contentStats).
	contentStatsSize = float64Size + sliceHeader
	// profileSize is sizeof(profile).
	profileSize = stringHeader + sliceHeader
	// valuesSize is sizeof(values).
	valuesSize = 2 * sliceHeader
)

// mapEntryBytes is the share of a map's memory one entry takes, with key
// and value slots of the given sizes.
func mapEntryBytes(key, value int) int64 { return int64(key+value+1) * 10 / 7 }

// stringBytes is a string held in a struct or slice: header and bytes.
func stringBytes(s string) int64 { return stringHeader + int64(len(s)) }
