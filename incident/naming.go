package incident

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// NewID makes a readable, unique incident (and workflow) id from the incident
// number and its group's label values: incident-7-highlatency-checkout.
func NewID(num int64, group map[string]string) string {
	vals := make([]string, 0, len(group))
	for _, k := range slices.Sorted(maps.Keys(group)) {
		vals = append(vals, group[k])
	}
	slug := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(strings.Join(vals, "-")), "-"), "-")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	id := fmt.Sprintf("incident-%d", num)
	if slug != "" {
		id += "-" + slug
	}
	return id
}

// TitleFor names an incident after its group: "HighLatency on checkout" when the group
// has alertname and service, otherwise the label values.
func TitleFor(group map[string]string) string {
	name, svc := group["alertname"], group["service"]
	switch {
	case name != "" && svc != "":
		return name + " on " + svc
	case name != "":
		return name
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(group)) {
		parts = append(parts, k+"="+group[k])
	}
	if len(parts) == 0 {
		return "Alert group"
	}
	return strings.Join(parts, ", ")
}
