package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftdata/weft/internal/deliveryjson"
)

// decodeRequest reads a Delivery API body of any dialect. debug reports a
// Python-style top-level "debug": true (a request for introspection data).
func decodeRequest(body []byte, keep map[string]bool) (req *pb.Request, debug bool, err error) {
	req = &pb.Request{}
	// The fast decoder serves the requests that are fine, building only
	// the insertion properties kept (those the ranker reads); a body it
	// refuses goes through the thorough path, whose errors name the field
	// and the value sent, and which has the last word.
	if deliveryjson.DecodeRequestKeeping(body, req, keep) != nil {
		req = &pb.Request{}
		if _, err := unmarshal(body, req); err != nil {
			return nil, false, err
		}
	}
	debug = askedDebug(body)
	if err := expandMatrix(req); err != nil {
		return nil, false, err
	}
	for i, ins := range req.Insertion {
		if strings.TrimSpace(ins.GetContentId()) == "" {
			field := fmt.Sprintf("insertion[%d].contentId", i)
			if len(req.InsertionMatrixHeaders) > 0 {
				field = fmt.Sprintf("insertionMatrix[%d]", i)
			}
			return nil, false, fieldError(field, "contentId is required (a non-empty string)")
		}
	}
	return req, debug, nil
}

// askedDebug reads a Python-style top-level "debug": true. The decoder
// drops unknown keys, so it is looked for apart, and only in the bodies
// that hold the word at all.
func askedDebug(body []byte) bool {
	if !bytes.Contains(body, []byte(`"debug"`)) {
		return false
	}
	var top struct {
		Debug bool `json:"debug"`
	}
	return json.Unmarshal(body, &top) == nil && top.Debug
}

// decodeLogRequest reads a Metrics API body of any dialect.
func decodeLogRequest(body []byte) (*ev.LogRequest, error) {
	lr := &ev.LogRequest{}
	if _, err := unmarshal(body, lr); err != nil {
		return nil, err
	}
	return lr, nil
}

// expandMatrix turns insertionMatrixHeaders and insertionMatrix into
// insertions, replacing any sent in insertion (spec 4.2): contentId,
// insertionId, retrievalRank and retrievalScore are fields, every other
// header a property, a dotted header a nested one.
func expandMatrix(req *pb.Request) error {
	headers := req.InsertionMatrixHeaders
	if len(headers) == 0 && req.InsertionMatrix == nil {
		return nil
	}
	if len(headers) == 0 {
		return fieldError("insertionMatrixHeaders", "required with insertionMatrix")
	}
	rows := req.GetInsertionMatrix().GetValues()
	out := make([]*pb.Insertion, 0, len(rows))
	for i, row := range rows {
		field := fmt.Sprintf("insertionMatrix[%d]", i)
		cells := row.GetListValue()
		if cells == nil {
			return fieldError(field, "want an array of %d values", len(headers))
		}
		if len(cells.Values) != len(headers) {
			return fieldError(field, "has %d values but there are %d headers", len(cells.Values), len(headers))
		}
		ins, err := matrixRow(headers, cells.Values, field)
		if err != nil {
			return err
		}
		out = append(out, ins)
	}
	req.Insertion = out
	return nil
}

func matrixRow(headers []string, cells []*structpb.Value, field string) (*pb.Insertion, error) {
	ins := &pb.Insertion{}
	var props map[string]any
	for j, h := range headers {
		v := cells[j]
		if _, null := v.GetKind().(*structpb.Value_NullValue); null || v.GetKind() == nil {
			continue
		}
		at := fmt.Sprintf("%s[%d] (%s)", field, j, h)
		var err error
		switch h {
		case "contentId", "content_id":
			ins.ContentId, err = cellString(v, at)
		case "insertionId", "insertion_id":
			ins.InsertionId, err = cellString(v, at)
		case "retrievalRank", "retrieval_rank":
			var n float64
			if n, err = cellNumber(v, at); err == nil {
				if n < 0 || n != math.Trunc(n) {
					return nil, fieldError(at, "want a non-negative integer, got %v", n)
				}
				r := uint64(n)
				ins.RetrievalRank = &r
			}
		case "retrievalScore", "retrieval_score":
			var n float64
			if n, err = cellNumber(v, at); err == nil {
				s := float32(n)
				ins.RetrievalScore = &s
			}
		default:
			if props == nil {
				props = map[string]any{}
			}
			setPath(props, strings.Split(h, "."), v.AsInterface())
		}
		if err != nil {
			return nil, err
		}
	}
	if props != nil {
		s, err := structpb.NewStruct(props)
		if err != nil {
			return nil, fieldError(field, "%v", err)
		}
		ins.Properties = &cm.Properties{StructField: &cm.Properties_Struct{Struct: s}}
	}
	return ins, nil
}

// setPath sets a nested property; a header's parts are object keys.
func setPath(m map[string]any, parts []string, v any) {
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// cellString reads an id cell; numbers are taken as decimal ids, since
// Python clients send numeric ids as they are.
func cellString(v *structpb.Value, at string) (string, error) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue, nil
	case *structpb.Value_NumberValue:
		return strconv.FormatFloat(k.NumberValue, 'f', -1, 64), nil
	}
	return "", fieldError(at, "want a string")
}

func cellNumber(v *structpb.Value, at string) (float64, error) {
	if k, ok := v.GetKind().(*structpb.Value_NumberValue); ok {
		return k.NumberValue, nil
	}
	return 0, fieldError(at, "want a number")
}
