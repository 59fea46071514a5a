package rank_test

import (
	"fmt"
	"testing"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/types/known/structpb"
)

// BenchmarkRank ranks requests of 100 and 1,000 insertions with ten
// properties each, for a known user, with the fixture's three rules.
func BenchmarkRank(b *testing.B) {
	f := newFixture(b, "duckdb")
	r := f.ranker(b, nil)
	for _, n := range []int{100, 1000} {
		ins := benchInsertions(b, n)
		b.Run(fmt.Sprintf("insertions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			req := feed("u01", "a01")
			for b.Loop() {
				if got := r.Rank(req, ins); len(got) != n {
					b.Fatalf("ranked %d", len(got))
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "insertions/s")
		})
	}
}

// benchInsertions are n insertions: the fixture's items and unseen ones,
// each with the three properties the rules read and seven others, and a
// retrieval rank.
func benchInsertions(b *testing.B, n int) []*delivery.Insertion {
	ins := make([]*delivery.Insertion, n)
	for i := range ins {
		item := i % (2 * items)
		props, err := structpb.NewStruct(map[string]any{
			"category": categories[item%4], "tier": []any{"gold", "silver"}[item%2],
			"offer": map[string]any{"discount": float64(item%5) / 10},
			"title": fmt.Sprintf("Item %d", i), "price": float64(i%97) + 0.99, "brand": fmt.Sprintf("b%d", i%13),
			"in_stock": i%3 != 0, "rating": float64(i%5) + 0.5, "color": []any{"red", "blue"}[i%2], "sku": fmt.Sprintf("sku-%d", i),
		})
		if err != nil {
			b.Fatal(err)
		}
		rank := uint64(i)
		ins[i] = &delivery.Insertion{ContentId: fmt.Sprintf("c%02d", item), RetrievalRank: &rank,
			Properties: &common.Properties{StructField: &common.Properties_Struct{Struct: props}}}
	}
	return ins
}
