package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/vigilops/vigil/incident"
)

// Sparkline size in SVG user units.
const (
	sparkW = 240
	sparkH = 48
)

// sparkline draws a series as a small inline SVG line with its last value
// marked. The SVG holds only numbers formatted here, so it is safe to emit as is;
// names and labels are printed by the template, escaped.
func sparkline(s *incident.Series) template.HTML {
	if s == nil || len(s.Values) < 2 || len(s.Times) != len(s.Values) {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range s.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 0) {
		return ""
	}
	if hi == lo {
		hi = lo + 1
	}
	t0, t1 := s.Times[0], s.Times[len(s.Times)-1]
	if t1 == t0 {
		t1 = t0 + 1
	}
	var pts []string
	var lastX, lastY float64
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lastX = 2 + float64(s.Times[i]-t0)/float64(t1-t0)*(sparkW-4)
		lastY = 2 + (hi-v)/(hi-lo)*(sparkH-4)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", lastX, lastY))
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="chart from %g to %g">`+
		`<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="%s"/><circle cx="%.1f" cy="%.1f" r="2.5"/></svg>`,
		sparkW, sparkH, sparkW, sparkH, lo, hi, strings.Join(pts, " "), lastX, lastY))
}
