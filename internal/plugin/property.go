package plugin

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Property types, from the JSON values of data.json.
const (
	TypeNumber  = "number"
	TypeText    = "text"
	TypeBoolean = "boolean"
)

// Limits of data.json.
const (
	maxProperties     = 100
	maxPropertyName   = 200
	maxCategory       = 200
	stagingChunk      = 100_000
	unknownExamples   = 10
	mergeChainMaxHops = 64
	// sep joins staged lists; data.json cannot hold it raw.
	sep = '\x1f'
)

// PropertyPrefix is the id prefix of a run's properties.
func PropertyPrefix(plugin string, started time.Time) string {
	return plugin + "/" + started.UTC().Format("20060102T150405Z") + "/"
}

// Property is a published plugin property.
type Property struct {
	ID          string    `json:"id"`
	Plugin      string    `json:"plugin"`
	RunID       string    `json:"run_id"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	Type        string    `json:"type"`
	Entities    int64     `json:"entities"`
	PublishedAt time.Time `json:"published_at"`
}

// Properties lists the published properties by id.
func (s *Service) Properties(ctx context.Context) ([]Property, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Query("PluginPropertyList"))
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	defer rows.Close()
	out := []Property{}
	for rows.Next() {
		var p Property
		if err := rows.Scan(&p.ID, &p.Plugin, &p.RunID, &p.Name, &p.Category, &p.Type, &p.Entities, &p.PublishedAt); err != nil {
			return nil, err
		}
		p.PublishedAt = p.PublishedAt.UTC()
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, rows.Err()
}
