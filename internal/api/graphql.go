package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/weftdata/weft/internal/customer"
	"github.com/weftdata/weft/internal/object"
)

// graphQL is POST /v1/graphql (and GET with ?query=). Answers are in the
// GraphQL shape, errors included: 200 once the request is readable (parse,
// validation and field errors are in errors), 400 when it is not.
func (h *handler) graphQL(w http.ResponseWriter, r *http.Request) {
	var req object.GraphQLRequest
	if err := h.graphQLRequest(w, r, &req); err != nil {
		status, _, msg := classify(err)
		h.log.Debug("graphql request refused", "status", status, "request_id", requestID(r.Context()), "error", err)
		writeJSON(w, status, map[string]any{"errors": []map[string]string{{"message": msg}}})
		return
	}
	ext, err := h.customerGraphQL(r.Context())
	if err != nil {
		h.log.Error("graphql failed", "request_id", requestID(r.Context()), "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"errors": []map[string]string{{"message": internalMessage}}})
		return
	}
	res, err := h.pipeline.Objects().GraphQLWith(r.Context(), &req, ext)
	var limit *object.QueryLimitError
	if errors.As(err, &limit) {
		h.log.Debug("graphql query over a limit", "limit", limit.Limit, "request_id", requestID(r.Context()))
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]any{{"message": limit.Error(),
			"extensions": map[string]any{"code": "QUERY_TOO_COMPLEX", "limit": limit.Limit, "max": limit.Max}}}})
		return
	}
	if err != nil {
		h.log.Error("graphql failed", "request_id", requestID(r.Context()), "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"errors": []map[string]string{{"message": internalMessage}}})
		return
	}
	for _, e := range res.Errors {
		if e.Extensions["code"] == "INTERNAL" {
			h.log.Error("graphql field failed", "path", e.Path.String(), "request_id", requestID(r.Context()), "error", e.Message)
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// customerGraphQL is the customers' part of the schema under the config
// in force; nil when the store cannot read customers.
func (h *handler) customerGraphQL(ctx context.Context) (object.GraphQLExtension, error) {
	db, ok := h.store.(customer.DB)
	if !ok {
		return nil, nil
	}
	_, cfg, err := h.pipeline.Config(ctx)
	if err != nil {
		return nil, err
	}
	segments := make([]string, len(cfg.Segments))
	for i, s := range cfg.Segments {
		segments[i] = s.ID
	}
	return customer.New(db, customer.Params{Attributes: cfg.Attributes, Segments: segments,
		Categories: cfg.IdentifierCategories(), Resolve: h.resolveLive}), nil
}

// resolveLive resolves an entity id as profile reads do: to its survivor,
// or to the live entities the parts of a split are now.
func (h *handler) resolveLive(ctx context.Context, id string) (*customer.Resolved, error) {
	db, err := h.identityDB()
	if err != nil {
		return nil, err
	}
	res, err := db.EntityResolve(ctx, id)
	if err != nil {
		return nil, err
	}
	if res.Split == nil {
		return &customer.Resolved{Live: res.Live}, nil
	}
	parts, err := db.SplitLiveParts(ctx, res.Split.Parts)
	return &customer.Resolved{SplitInto: res.Split.Parts, Parts: parts}, err
}

func (h *handler) graphQLRequest(w http.ResponseWriter, r *http.Request, req *object.GraphQLRequest) error {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				return badRequest("variables must be a JSON object: " + err.Error())
			}
		}
		return nil
	}
	data, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/graphql") && !strings.HasPrefix(ct, "application/graphql-response") {
		req.Query = string(data)
		return nil
	}
	if err := json.Unmarshal(data, req); err != nil {
		return badRequest(`the body must be a JSON object {"query": ..., "variables": {...}, "operationName": ...}: ` + err.Error())
	}
	if strings.TrimSpace(req.Query) == "" {
		return badRequest("the request has no query")
	}
	return nil
}
