package config

import "github.com/weftdata/weft/internal/segment"

// SegmentEnv is what the segments of c may name: its attributes, the
// identifier categories of its stitching and its plugins.
func (c *Config) SegmentEnv() *segment.Env {
	plugins := make([]string, len(c.Plugins))
	for i, p := range c.Plugins {
		plugins[i] = p.Name
	}
	return segment.NewEnv(c.Attributes, c.EffectiveStitching(), plugins)
}

func (c *Config) validateSegments() error {
	if err := segment.Validate(c.Segments, c.SegmentEnv()); err != nil {
		return &Error{Err: err}
	}
	return nil
}
