package rank

import (
	"maps"
	"slices"
	"strings"

	"github.com/promotedai/schema/generated/go/proto/delivery"
	"github.com/promotedai/schema/generated/go/proto/event"
)

// useCase is a UseCase made ready for the request path.
type useCase struct {
	retrieval, engagement, personalization float64
	// prior is the engagement prior in impressions; actionWeights weigh
	// engagement.keys by index; globalRate is the weighted actions per
	// impression over all content, what an item is smoothed toward.
	prior         float64
	actionWeights []float64
	globalRate    float64
	rules         []rule
	// filters are the segment rules with a filter: they leave insertions
	// out instead of scoring them.
	filters []rule
}

// rule is a Rule with its path split and its source resolved.
type rule struct {
	label  string
	path   []string
	slot   int // in profile.slots; -1: a property no run has published
	scale  bool
	weight float64
	// drop is a filter rule's kind: drop (true) or keep.
	drop bool
}

// useCases are the compiled use cases by delivery.UseCase value.
type useCases map[delivery.UseCase]*useCase

// compileUseCases compiles the configured use cases for every
// delivery.UseCase: its own, else "default", else built-in defaults.
// Rules are resolved against src (slots of referenced properties are
// looked up through resolved, reference → property id).
func compileUseCases(d *Delivery, eng *engagement, src *sources, resolved map[string]string) useCases {
	byName := map[string]*useCase{}
	out := useCases{}
	for v, name := range delivery.UseCase_name {
		if _, ok := d.UseCases[name]; !ok {
			name = UseCaseDefault
		}
		uc, ok := byName[name]
		if !ok {
			uc = compileUseCase(d.UseCases[name], eng, src, resolved)
			byName[name] = uc
		}
		out[delivery.UseCase(v)] = uc
	}
	return out
}

// propertyKeys are the first parts of every rule's item path.
func (u useCases) propertyKeys() map[string]bool {
	keys := map[string]bool{}
	for _, uc := range u {
		for _, r := range slices.Concat(uc.rules, uc.filters) {
			keys[r.path[0]] = true
		}
	}
	return keys
}

// of returns the use case of a request; an enum value this build does not
// know ranks as the default.
func (u useCases) of(v delivery.UseCase) *useCase {
	if uc, ok := u[v]; ok {
		return uc
	}
	return u[delivery.UseCase_UNKNOWN_USE_CASE]
}

func compileUseCase(c UseCase, eng *engagement, src *sources, resolved map[string]string) *useCase {
	uc := &useCase{prior: c.EngagementPriorOrDefault(), actionWeights: make([]float64, len(eng.keys))}
	uc.retrieval, uc.engagement, uc.personalization = c.Weights()
	var actions float64
	for k, name := range eng.keys {
		uc.actionWeights[k] = actionWeight(c.ActionWeights, name)
		actions += uc.actionWeights[k] * eng.totals[k]
	}
	if eng.impressions > 0 {
		uc.globalRate = max(actions, 0) / eng.impressions
	}
	for _, r := range c.Rules {
		cr := rule{label: r.Label(), path: strings.Split(r.Item, "."), slot: -1,
			scale: r.Match == MatchScale, weight: r.WeightOrDefault()}
		switch {
		case r.Attribute != "":
			cr.slot = src.attrSlot[r.Attribute]
		case r.Segment != "":
			cr.slot = src.segSlot[r.Segment]
		default:
			if id, ok := resolved[r.Property]; ok {
				cr.slot = src.propSlot[id]
			}
		}
		if r.Filter != "" {
			cr.drop = r.Filter == FilterDrop
			uc.filters = append(uc.filters, cr)
			continue
		}
		uc.rules = append(uc.rules, cr)
	}
	return uc
}

// actionWeight is the configured weight of an action type; a custom action
// falls back to CUSTOM_ACTION_TYPE's; undoing actions weigh 0, others 1.
func actionWeight(weights map[string]float64, name string) float64 {
	if w, ok := weights[name]; ok {
		return w
	}
	if _, builtin := event.ActionType_value[name]; !builtin {
		if w, ok := weights[event.ActionType_CUSTOM_ACTION_TYPE.String()]; ok {
			return w
		}
	}
	for _, u := range ActionTypesUndoing {
		if u == name {
			return 0
		}
	}
	return 1
}

// referenced collects the sources of every rule, resolving property
// references; it returns the references no published property answers.
func referenced(d *Delivery, resolve func(string) (string, bool)) (*sources, map[string]string, []string) {
	src := newSources()
	resolved := map[string]string{}
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(d.UseCases)) {
		for _, r := range d.UseCases[name].Rules {
			if r.Attribute != "" {
				src.add(r.Attribute, kindAttribute)
				continue
			}
			if r.Segment != "" {
				src.add(r.Segment, kindSegment)
				continue
			}
			id, ok := resolved[r.Property]
			if !ok {
				if id, ok = resolve(r.Property); !ok {
					if !slices.Contains(missing, r.Property) {
						missing = append(missing, r.Property)
					}
					continue
				}
				resolved[r.Property] = id
			}
			src.add(id, kindProperty)
		}
	}
	return src, resolved, missing
}
