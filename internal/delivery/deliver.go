package delivery

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	ev "github.com/promotedai/schema/generated/go/proto/event"
	"google.golang.org/protobuf/proto"

	"github.com/weftdata/weft/internal/deliveryjson"
	"github.com/weftdata/weft/internal/rank"
)

// ServerVersion is written to the execution of API delivery logs.
const ServerVersion = "weft.1"

// DeliverOpts are per-request options that are not in the body.
type DeliverOpts struct {
	// Introspect asks for introspection data (the header
	// x-weft-introspection: 1); a body's top-level "debug": true does too.
	Introspect bool
}

// Deliver is the Delivery API: it ranks the request's insertions, serves
// the asked page and returns the delivery.Response as canonical protojson
// with only the fields the strict Go client accepts. The delivery log is
// appended in the background.
func (s *Service) Deliver(ctx context.Context, body []byte, opts DeliverOpts) ([]byte, error) {
	var keep map[string]bool
	if pr, ok := s.opts.Ranker.(PropertyReader); ok {
		keep = pr.PropertyKeys()
	}
	req, debug, err := decodeRequest(body, keep)
	if err != nil {
		return nil, err
	}
	offset, size, err := pageOf(req)
	if err != nil {
		return nil, err
	}
	// Ours, always: a shadow request from the Go SDK carries the SDK's.
	req.RequestId = uuid.NewString()
	st := s.settings.Load()
	scored := s.rank(req)
	ranked, byContent := rankedContent(req.Insertion, scored)
	key := req.GetPaging().GetPagingId()
	if key == "" {
		key = pagingKey(req, st.nonKey)
	}
	page := s.pager.allocate(key, st.pagingTTL, ranked, offset, size)
	resp := &pb.Response{
		RequestId:  req.RequestId,
		Insertion:  make([]*pb.Insertion, len(page)),
		PagingInfo: &pb.PagingInfo{PagingId: key, Cursor: strconv.FormatUint(offset+uint64(len(page)), 10)},
	}
	for i, pl := range page {
		resp.Insertion[i] = s.served1(req, byContent[ranked[pl.Index]], pl.Position)
	}
	if opts.Introspect || debug {
		data := s.introspection(req, resp, scored, byContent)
		resp.IntrospectionData = &data
	}
	out := deliveryjson.AppendResponse(nil, resp)
	s.logDelivery(req, resp)
	return out, nil
}

// pageOf is the page asked for: the offset from the cursor, else
// paging.offset; the size from paging.size, the whole list when absent.
func pageOf(req *pb.Request) (offset, size uint64, err error) {
	p := req.GetPaging()
	size = uint64(len(req.Insertion))
	if p.GetSize() > 0 {
		size = min(size, uint64(p.GetSize()))
	}
	if c, ok := p.GetStarting().(*pb.Paging_Cursor); ok {
		n, err := strconv.ParseInt(c.Cursor, 10, 32)
		if err != nil || n < 0 {
			return 0, 0, fieldError("paging.cursor", "%q is not a position (the decimal cursor of a previous pagingInfo)", c.Cursor)
		}
		return uint64(n), size, nil
	}
	if p.GetOffset() < 0 {
		return 0, 0, fieldError("paging.offset", "must not be negative, got %d", p.GetOffset())
	}
	return uint64(p.GetOffset()), size, nil
}

// rank asks the Ranker; without one the request order stands.
func (s *Service) rank(req *pb.Request) []rank.Scored {
	if s.opts.Ranker != nil {
		return s.opts.Ranker.Rank(req, req.Insertion)
	}
	out := make([]rank.Scored, len(req.Insertion))
	for i := range out {
		out[i] = rank.Scored{Index: i}
	}
	return out
}

// rankedContent lists the content ids best first, each once (the first
// insertion of a content wins), and maps them to their insertion. Indexes
// a Ranker left out follow in request order, so nothing is lost; those it
// filtered (a segment filter rule) are not served.
func rankedContent(ins []*pb.Insertion, scored []rank.Scored) ([]string, map[string]*pb.Insertion) {
	ranked := make([]string, 0, len(ins))
	byContent := make(map[string]*pb.Insertion, len(ins))
	var filtered []bool // by index; nil when nothing is
	for _, sc := range scored {
		if sc.Filtered && sc.Index >= 0 && sc.Index < len(ins) {
			if filtered == nil {
				filtered = make([]bool, len(ins))
			}
			filtered[sc.Index] = true
		}
	}
	add := func(i int) {
		if i < 0 || i >= len(ins) || filtered != nil && filtered[i] {
			return
		}
		if c := ins[i].GetContentId(); byContent[c] == nil {
			byContent[c] = ins[i]
			ranked = append(ranked, c)
		}
	}
	for _, sc := range scored {
		add(sc.Index)
	}
	for i := range ins {
		add(i)
	}
	return ranked, byContent
}

// served1 is one response insertion: the request's insertionId passed
// through, else a new one.
func (s *Service) served1(req *pb.Request, in *pb.Insertion, pos uint64) *pb.Insertion {
	id := in.GetInsertionId()
	if id == "" {
		id = uuid.NewString()
	}
	s.served.add(id, in.GetContentId())
	return &pb.Insertion{ContentId: in.GetContentId(), InsertionId: id, Position: &pos}
}

// Introspection is the introspection data of an answer, a JSON string:
// the user, the entity when the Ranker can tell, and each served
// insertion's score and its parts.
type Introspection struct {
	UserID     string                   `json:"userId,omitempty"`
	AnonUserID string                   `json:"anonUserId,omitempty"`
	Entity     string                   `json:"entity,omitempty"`
	Insertions []IntrospectionInsertion `json:"insertions"`
}

// IntrospectionInsertion is one served insertion's score.
type IntrospectionInsertion struct {
	ContentID string     `json:"contentId"`
	Position  uint64     `json:"position"`
	Score     float64    `json:"score"`
	Parts     rank.Parts `json:"parts"`
}

func (s *Service) introspection(req *pb.Request, resp *pb.Response, scored []rank.Scored, byContent map[string]*pb.Insertion) string {
	doc := Introspection{UserID: req.GetUserInfo().GetUserId(), AnonUserID: req.GetUserInfo().GetAnonUserId(),
		Insertions: []IntrospectionInsertion{}}
	if f, ok := s.opts.Ranker.(EntityFinder); ok {
		doc.Entity, _ = f.Entity(req)
	}
	byIndex := make(map[int]rank.Scored, len(scored))
	for _, sc := range scored {
		byIndex[sc.Index] = sc
	}
	index := make(map[*pb.Insertion]int, len(req.Insertion))
	for i, in := range req.Insertion {
		index[in] = i
	}
	for _, out := range resp.Insertion {
		sc := byIndex[index[byContent[out.ContentId]]]
		doc.Insertions = append(doc.Insertions, IntrospectionInsertion{out.ContentId, out.GetPosition(), sc.Score, sc.Parts})
	}
	b, _ := json.Marshal(doc) // plain data
	return string(b)
}

// logDelivery queues the delivery log of an API delivery. The request is
// logged without its insertions: a request carries hundreds or thousands
// of candidates with their properties, and writing each in full would
// cost more than serving it; the served page is in the response.
func (s *Service) logDelivery(req *pb.Request, resp *pb.Response) {
	logged := &pb.Request{
		PlatformId: req.PlatformId, UserInfo: req.UserInfo, Timing: req.Timing, ClientInfo: req.ClientInfo,
		Device: req.Device, RequestId: req.RequestId, ViewId: req.ViewId, AutoViewId: req.AutoViewId,
		SessionId: req.SessionId, ClientRequestId: req.ClientRequestId, UseCase: req.UseCase,
		SearchQuery: req.SearchQuery, Paging: req.Paging, Properties: req.Properties,
		DisablePersonalization: req.DisablePersonalization,
	}
	// An internal user's (a tester's) log keeps every candidate, as
	// Promoted's delivery logs do: worth its cost for the few such users.
	if req.GetUserInfo().GetIsInternalUser() {
		logged.Insertion = req.Insertion
	}
	lr := &ev.LogRequest{DeliveryLog: []*pb.DeliveryLog{{
		PlatformId: req.GetPlatformId(),
		Request:    logged,
		Response:   resp,
		Execution:  &pb.DeliveryExecution{ExecutionServer: pb.ExecutionServer_API, ServerVersion: ServerVersion},
	}}}
	s.writer.enqueue(detached(lr))
}

// detached copies lr through its binary form. The fast decoder's strings
// share the request body: a queued log must not keep bodies alive.
func detached(lr *ev.LogRequest) *ev.LogRequest {
	b, err := proto.Marshal(lr)
	out := &ev.LogRequest{}
	if err == nil {
		err = proto.Unmarshal(b, out)
	}
	if err != nil {
		return lr // cannot happen for a message decoded from JSON
	}
	return out
}
