package demo

import (
	"iter"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// Truth maps the id of every event of the dataset, as the log stores it
// (derived when the event has none), to the customer who produced it.
func Truth(events iter.Seq[Event]) map[string]int {
	truth := map[string]int{}
	for e := range events {
		id := e.ID
		if id == "" {
			id = event.DeriveID(store.EventInsert{
				EventTypeKey: store.EventTypeKey{SourceID: e.SourceID, Type: e.Type, Version: e.Version},
				EventTime:    e.EventTime,
				Payload:      e.Payload,
			})
		}
		truth[id] = e.Customer
	}
	return truth
}

// PairScores compares a partition of the events (event id -> entity id)
// with the truth over pairs of events: precision is the share of pairs put
// in one entity that belong to one customer, recall the share of pairs of
// one customer that were put in one entity. Events of the truth missing
// from the partition count as entities of their own.
func PairScores(entityOf map[string]string, truth map[string]int) (precision, recall float64) {
	type cell struct {
		entity   string
		customer int
	}
	perEntity, perCustomer, perCell := map[string]float64{}, map[int]float64{}, map[cell]float64{}
	for id, customer := range truth {
		ent, ok := entityOf[id]
		if !ok {
			ent = "unstitched:" + id
		}
		perEntity[ent]++
		perCustomer[customer]++
		perCell[cell{ent, customer}]++
	}
	pairs := func(n float64) float64 { return n * (n - 1) / 2 }
	var predicted, actual, both float64
	for _, n := range perEntity {
		predicted += pairs(n)
	}
	for _, n := range perCustomer {
		actual += pairs(n)
	}
	for _, n := range perCell {
		both += pairs(n)
	}
	precision, recall = 1, 1
	if predicted > 0 {
		precision = both / predicted
	}
	if actual > 0 {
		recall = both / actual
	}
	return precision, recall
}
