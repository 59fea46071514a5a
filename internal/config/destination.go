package config

import (
	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/destination"
)

// validateDestinations checks destinations: against the segments,
// attributes and identifier categories the config declares (package
// destination; each type adds its own checks).
func validateDestinations(c *Config) error {
	if len(c.Destinations) == 0 {
		return nil
	}
	k := &destination.Known{Segments: map[string]bool{}, Attributes: map[string]*attr.Definition{}, Categories: map[string]bool{}}
	for _, s := range c.Segments {
		k.Segments[s.ID] = true
	}
	for i := range c.Attributes {
		k.Attributes[c.Attributes[i].ID] = &c.Attributes[i]
	}
	for _, r := range c.EffectiveStitching().Rules {
		k.Categories[r.Identifier] = true
	}
	if err := destination.Validate(c.Destinations, k); err != nil {
		return &Error{Err: err}
	}
	return nil
}
