package fileexport

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/weftdata/weft/internal/attr"
)

// MaxRowGroupRows is the most rows of a Parquet row group: the rows an
// export holds in memory at once.
const MaxRowGroupRows = 64 << 10

// parquetEncoder writes Parquet through Apache Arrow's Go writer
// (github.com/apache/arrow-go, already a dependency of the DuckDB
// driver), a row group per MaxRowGroupRows records, Snappy-compressed.
type parquetEncoder struct {
	s     *spec
	fw    *pqarrow.FileWriter
	rb    *array.RecordBuilder
	rows  int
	ids   *array.StructBuilder // nil without identifiers
	attrs *array.StructBuilder // nil without attributes
}

// writeOnly hides a Close of the file from the Parquet writer, which
// closes its sink: the file is committed or aborted by its target.
type writeOnly struct{ io.Writer }

func newParquet(s *spec, w io.Writer) (*parquetEncoder, error) {
	schema := parquetSchema(s)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(MaxRowGroupRows), parquet.WithCreatedBy("weft"))
	fw, err := pqarrow.NewFileWriter(schema, writeOnly{w}, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		return nil, fmt.Errorf("parquet schema: %w", err)
	}
	e := &parquetEncoder{s: s, fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, schema)}
	for i, f := range schema.Fields() {
		switch f.Name {
		case groupIdentifiers:
			e.ids = e.rb.Field(i).(*array.StructBuilder)
		case groupAttributes:
			e.attrs = e.rb.Field(i).(*array.StructBuilder)
		}
	}
	return e, nil
}

// parquetSchema: entity_id, change and changed_at for changes, then the
// struct columns identifiers (each category a list of strings) and
// attributes (each of its type, a list of it when it may hold several).
func parquetSchema(s *spec) *arrow.Schema {
	fields := []arrow.Field{{Name: "entity_id", Type: arrow.BinaryTypes.String}}
	if s.changes {
		fields = append(fields, arrow.Field{Name: "change", Type: arrow.BinaryTypes.String},
			arrow.Field{Name: "changed_at", Type: arrow.FixedWidthTypes.Timestamp_us})
	}
	var ids, attrs []arrow.Field
	for _, c := range s.cols {
		t := arrowType(c.dataType)
		if c.group == groupIdentifiers {
			ids = append(ids, arrow.Field{Name: c.name, Type: arrow.ListOf(t), Nullable: true})
			continue
		}
		if !c.single || c.list {
			t = arrow.ListOf(t)
		}
		attrs = append(attrs, arrow.Field{Name: c.name, Type: t, Nullable: true})
	}
	if len(ids) > 0 {
		fields = append(fields, arrow.Field{Name: groupIdentifiers, Type: arrow.StructOf(ids...)})
	}
	if len(attrs) > 0 {
		fields = append(fields, arrow.Field{Name: groupAttributes, Type: arrow.StructOf(attrs...)})
	}
	return arrow.NewSchema(fields, nil)
}

func arrowType(dataType string) arrow.DataType {
	switch dataType {
	case attr.DataInt:
		return arrow.PrimitiveTypes.Int64
	case attr.DataFloat:
		return arrow.PrimitiveTypes.Float64
	case attr.DataBool:
		return arrow.FixedWidthTypes.Boolean
	case attr.DataDate:
		return arrow.FixedWidthTypes.Date32
	case attr.DataDatetime:
		return arrow.FixedWidthTypes.Timestamp_us
	}
	return arrow.BinaryTypes.String
}

func (e *parquetEncoder) write(r *record) error {
	e.rb.Field(0).(*array.StringBuilder).Append(r.entityID)
	if e.s.changes {
		e.rb.Field(1).(*array.StringBuilder).Append(r.change)
		e.rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.changedAt.UnixMicro()))
	}
	if e.ids != nil {
		e.ids.Append(true)
	}
	if e.attrs != nil {
		e.attrs.Append(true)
	}
	var nID, nAttr int
	for i := range e.s.cols {
		c := &e.s.cols[i]
		var b array.Builder
		if c.group == groupIdentifiers {
			b = e.ids.FieldBuilder(nID)
			nID++
		} else {
			b = e.attrs.FieldBuilder(nAttr)
			nAttr++
		}
		appendValues(b, c.dataType, r.values[i])
	}
	if e.rows++; e.rows == MaxRowGroupRows {
		return e.flush()
	}
	return nil
}

// appendValues appends a column's values to its builder: a list, or one
// scalar (null for none).
func appendValues(b array.Builder, dataType string, vs []string) {
	if lb, ok := b.(*array.ListBuilder); ok {
		if vs == nil {
			lb.AppendNull()
			return
		}
		lb.Append(true)
		for _, v := range vs {
			appendValue(lb.ValueBuilder(), dataType, v)
		}
		return
	}
	if len(vs) == 0 {
		b.AppendNull()
		return
	}
	appendValue(b, dataType, vs[0])
}

// appendValue appends one stored text value as its data type, read as
// attr reads it; a value that does not read as the type is null.
func appendValue(b array.Builder, dataType string, v string) {
	switch dataType {
	case attr.DataString:
		b.(*array.StringBuilder).Append(v)
		return
	case attr.DataDate:
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			b.(*array.Date32Builder).Append(arrow.Date32FromTime(t))
			return
		}
	case attr.DataDatetime:
		if s, ok := attr.JSONValueOf(dataType, v).(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
				return
			}
		}
	case attr.DataBool:
		if x, err := strconv.ParseBool(v); err == nil {
			b.(*array.BooleanBuilder).Append(x)
			return
		}
	default:
		switch x := attr.JSONValueOf(dataType, v).(type) {
		case int64:
			b.(*array.Int64Builder).Append(x)
			return
		case float64:
			b.(*array.Float64Builder).Append(x)
			return
		}
	}
	b.AppendNull()
}

// flush writes the records built so far as a row group.
func (e *parquetEncoder) flush() error {
	if e.rows == 0 {
		return nil
	}
	rec := e.rb.NewRecordBatch()
	defer rec.Release()
	e.rows = 0
	if err := e.fw.Write(rec); err != nil {
		return fmt.Errorf("write parquet: %w", err)
	}
	return nil
}

func (e *parquetEncoder) close() error {
	defer e.rb.Release()
	if err := e.flush(); err != nil {
		return err
	}
	return e.fw.Close()
}
