package rank

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/promotedai/schema/generated/go/proto/common"

	"github.com/weftdata/weft/internal/consent"
)

// users finds a request's user: the userId and anonUserId identifiers of
// the kept entities, and each one's values.
type users struct {
	byUserID map[string]int32
	byAnonID map[string]int32
	profiles []profile
	// truncated says the byte cap left users out.
	truncated bool
	bytes     int64
}

// profile is what the rules read of one entity: the values of each
// source (attribute or property) the rules reference, by slot.
type profile struct {
	entity string
	slots  []values
}

// values are a user's values of one source: every value as text (numbers
// in their shortest form) and, for those that are numbers, as numbers;
// both sorted for binary search.
type values struct {
	text []string
	nums []float64
}

// find returns the profile of the request's user: by userId, else by
// anonUserId; nil when neither is known.
func (u *users) find(info *common.UserInfo) *profile {
	if id := info.GetUserId(); id != "" {
		if i, ok := u.byUserID[id]; ok {
			return &u.profiles[i]
		}
	}
	if id := info.GetAnonUserId(); id != "" {
		if i, ok := u.byAnonID[id]; ok {
			return &u.profiles[i]
		}
	}
	return nil
}

// sources are the attributes, properties and segments the rules read,
// each given a slot of profile.slots.
type sources struct {
	attrs, props, segs          []string
	attrSlot, propSlot, segSlot map[string]int
}

func newSources() *sources {
	return &sources{attrSlot: map[string]int{}, propSlot: map[string]int{}, segSlot: map[string]int{}}
}

func (s *sources) slots() int { return len(s.attrs) + len(s.props) + len(s.segs) }

// add gives an attribute, a resolved property id or a segment (kind
// kindAttribute, kindProperty or kindSegment) a slot.
func (s *sources) add(id string, kind int) int {
	ids, slot := &s.attrs, s.attrSlot
	switch kind {
	case kindProperty:
		ids, slot = &s.props, s.propSlot
	case kindSegment:
		ids, slot = &s.segs, s.segSlot
	}
	if i, ok := slot[id]; ok {
		return i
	}
	i := s.slots()
	*ids = append(*ids, id)
	slot[id] = i
	return i
}

// Kinds of RankUsers rows.
const (
	kindUserID = iota
	kindAnonID
	kindAttribute
	kindProperty
	kindSegment
)

// userRow is one row of RankUsers.
type userRow struct {
	entity string
	kind   int
	key    string
	value  string
}

// loadUsers reads the users, most recently modified first, until the next
// one would take the state over budget bytes. With a personalization
// consent filter, the users without consent are not read: the personal
// rules never see them (they rank as users Weft does not know), and they
// take none of the budget.
func loadUsers(ctx context.Context, db DB, userCat, anonCat string, src *sources, budget int64, personalization *consent.Filter) (*users, error) {
	q, args := db.Query("RankUsers"), []any{userCat, anonCat, src.attrs, src.props, src.segs}
	if personalization != nil {
		q = strings.Replace(q, "/* consenting */", db.Query("RankUsersConsenting"), 1)
		args = append(args, personalization.Args()...)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer rows.Close()
	b := &userBuilder{u: &users{byUserID: map[string]int32{}, byAnonID: map[string]int32{}}, src: src, budget: budget}
	for rows.Next() {
		var r userRow
		if err := rows.Scan(&r.entity, &r.kind, &r.key, &r.value); err != nil {
			return nil, fmt.Errorf("read users: %w", err)
		}
		if !b.add(r) {
			return b.done(), nil // over the cap: the rest is not read
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	b.flush()
	return b.done(), nil
}

// userBuilder groups RankUsers rows into profiles.
type userBuilder struct {
	u      *users
	src    *sources
	budget int64
	// The entity being read: its profile, identifiers and bytes.
	cur      profile
	userIDs  []string
	anonIDs  []string
	curBytes int64
	haveCur  bool
}

// add takes one row; false when the cap is reached.
func (b *userBuilder) add(r userRow) bool {
	if !b.haveCur || r.entity != b.cur.entity {
		if !b.flush() {
			return false
		}
		b.start(r.entity)
	}
	switch r.kind {
	case kindUserID:
		b.userIDs = append(b.userIDs, r.value)
		b.curBytes += mapEntryBytes(stringHeader, int32Size) + int64(len(r.value))
	case kindAnonID:
		b.anonIDs = append(b.anonIDs, r.value)
		b.curBytes += mapEntryBytes(stringHeader, int32Size) + int64(len(r.value))
	case kindAttribute:
		b.value(b.src.attrSlot[r.key], r.value, false)
	case kindProperty:
		b.value(b.src.propSlot[r.key], r.value, true)
	case kindSegment:
		b.member(b.src.segSlot[r.key])
	}
	return true
}

func (b *userBuilder) start(entity string) {
	b.cur = profile{entity: entity, slots: make([]values, b.src.slots())}
	b.userIDs, b.anonIDs = b.userIDs[:0], b.anonIDs[:0]
	b.curBytes = profileSize + int64(len(entity)) + int64(b.src.slots())*valuesSize
	b.haveCur = true
}

// value adds a value to a slot. Attribute values are text; property
// values are JSON scalars.
func (b *userBuilder) value(slot int, raw string, isJSON bool) {
	text := raw
	if isJSON {
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return
		}
		switch v := v.(type) {
		case string:
			text = v
		case bool:
			text = strconv.FormatBool(v)
		}
	}
	vs := &b.cur.slots[slot]
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		text = strconv.FormatFloat(f, 'f', -1, 64) // 200.0 and 200 are one value
		vs.nums = append(vs.nums, f)
		b.curBytes += float64Size
	}
	vs.text = append(vs.text, text)
	b.curBytes += stringBytes(text)
}

// memberValues are a segment's values for its members: true, and 1 for
// scale rules. Non-members have none.
var memberValues = values{text: []string{"true"}, nums: []float64{1}}

// member gives a segment's slot the values of a member.
func (b *userBuilder) member(slot int) {
	vs := &b.cur.slots[slot]
	// Shared and never changed: the slot holds no bytes of its own.
	*vs = memberValues
}

// done returns the users, their profiles copied to a slice of their exact
// length: the accounting counts no spare capacity.
func (b *userBuilder) done() *users {
	b.u.profiles = append(make([]profile, 0, len(b.u.profiles)), b.u.profiles...)
	return b.u
}

// flush keeps the entity read so far if it fits; false when it does not.
func (b *userBuilder) flush() bool {
	if !b.haveCur {
		return true
	}
	b.haveCur = false
	if b.u.bytes+b.curBytes > b.budget {
		b.u.truncated = true
		return false
	}
	i := int32(len(b.u.profiles))
	for _, vs := range b.cur.slots {
		slices.Sort(vs.text)
		slices.Sort(vs.nums)
	}
	for _, id := range b.userIDs {
		b.u.byUserID[id] = i
	}
	for _, id := range b.anonIDs {
		b.u.byAnonID[id] = i
	}
	b.u.profiles = append(b.u.profiles, b.cur)
	b.u.bytes += b.curBytes
	return true
}
