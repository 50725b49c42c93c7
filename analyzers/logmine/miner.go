package logmine

import (
	"cmp"
	"slices"
	"strings"
)

// TemplateID identifies a template for the life of a Miner. It stays valid
// when the template generalises; when two templates merge, the absorbed one's
// ID refers to the survivor from then on (see Miner.Template). IDs are never
// reused.
type TemplateID uint64

// Result is what the miner made of one line.
type Result struct {
	// TemplateID is the template the line was assigned to.
	TemplateID TemplateID
	// Template is the template's text (see Template.Text) just after the
	// line was added. It may generalise further as more lines arrive;
	// Miner.Template gives the current text for an ID.
	Template string
	// New is true when the line started a template of its own.
	New bool
}

// Template is a snapshot of one mined template.
type Template struct {
	ID TemplateID
	// Text is the template as Loghub writes one: literal text as logged and
	// Wildcard for each variable, inside the punctuation around it
	// ("<*>:<*>", "key=<*>", "<*> MB"). It is rendered from lines of the
	// template (see renderDisplay); the tokens lines are grouped by are
	// internal.
	Text string
	// Count is the number of lines assigned to the template.
	Count int64
}

// Config bounds the miner's memory. Mining behaviour itself has no knobs:
// one configuration serves every log source.
type Config struct {
	// MaxTemplates caps the number of live templates. When a new template
	// would exceed it, the least recently matched template is evicted: its
	// ID (and the IDs merged into it) become unknown.
	MaxTemplates int
	// MaxGroupTemplates caps the templates compared with a line: those with
	// the line's first word and token count, and those with its first word
	// and a variable-length wildcard. When a group is full, its least
	// recently matched template is evicted to make room.
	MaxGroupTemplates int
	// MaxFirstWords caps the first words the tree branches on (its width).
	// Lines whose first word would open a branch past the cap share the
	// branch of lines that do not start with a word.
	MaxFirstWords int
	// MaxCachedLines caps the cache from masked line to template that lets
	// repeated lines skip the search. The cache is emptied when full.
	MaxCachedLines int
}

// DefaultConfig returns bounds suited to a long-running stream. Memory is
// dominated by the cached masked lines and the template texts: about 40 MB
// at the caps with 200-byte lines.
func DefaultConfig() Config {
	return Config{
		MaxTemplates:      10000,
		MaxGroupTemplates: 200,
		MaxFirstWords:     2000,
		MaxCachedLines:    50000,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxTemplates <= 0 {
		c.MaxTemplates = d.MaxTemplates
	}
	if c.MaxGroupTemplates <= 0 {
		c.MaxGroupTemplates = d.MaxGroupTemplates
	}
	if c.MaxFirstWords <= 0 {
		c.MaxFirstWords = d.MaxFirstWords
	}
	if c.MaxCachedLines <= 0 {
		c.MaxCachedLines = d.MaxCachedLines
	}
	return c
}

// Mining parameters, the same for every log source.
const (
	// similarity is the fraction of a template's literal tokens that a line
	// must share with it to join it.
	similarity = 0.5
	// wordVariety is the number of distinct words seen at one position of
	// otherwise matching templates from which the position is taken to be a
	// variable (user names, hive names) and the templates merge. Fewer
	// distinct words are taken to be the states or verbs that tell events
	// apart (GET/POST/DELETE, Started/Paused/Resumed/Stopped).
	wordVariety = 5
	// minAnchor is the number of leading tokens a line must share with a
	// template before a variable-length run of masked values may join them.
	minAnchor = 2
	// maxAliases bounds the IDs remembered for templates merged into one
	// template; the oldest are forgotten first.
	maxAliases = 32
	// maxPairScan bounds the templates of other lengths a new line is
	// compared with when looking for a variable-length match.
	maxPairScan = 2000
)

// Miner groups log messages into templates online, in the manner of Drain
// (He et al., ICWS 2017): lines are grouped by first word and token count,
// compared token by token with the templates of their group, and either join
// the most similar template (turning differing tokens into wildcards) or start
// a new one. It differs from Drain in that:
//   - masking is richer (see scanner) and a run of masked values is one token;
//   - wildcards count neither for nor against similarity;
//   - two different words at a position never generalise to a wildcard
//     (GET vs POST), nor do two constants ending in enumerated names
//     (SCREEN_ON vs SCREEN_OFF) or key=value tokens with different keys,
//     until wordVariety different words are seen there (then it is a
//     variable), or two after an entity noun ("for user cyrus");
//   - text in brackets that annotates a value ("850 bytes (0.83 KB)") and
//     units join the value, so optional annotations do not split an event;
//   - a line may join a template of another length when the difference is a
//     run of masked values after a common prefix (stack traces, block lists):
//     the template then holds a wildcard that spans one or more tokens.
//
// Memory is bounded by Config; when a bound is reached the least recently
// matched template is evicted. A Miner is deterministic: the same lines in the
// same order give the same templates and IDs. It is not safe for concurrent
// use.
type Miner struct {
	cfg     Config
	sc      scanner
	roots   map[string]*firstNode
	byID    map[TemplateID]*cluster // live templates and aliases of merged ones
	cache   map[string]*cluster
	nextID  TemplateID
	live    int
	lruHead *cluster // most recently matched
	lruTail *cluster // least recently matched
	seq     int64    // lines added
	cur     string   // the content being added
	rsA     scanner  // rescans remembered lines to render displays
	rsB     scanner
}

// firstNode is the tree branch of one first word ("" for lines that do not
// start with a word).
type firstNode struct {
	word    string
	byLen   map[int]*group
	elastic group // templates with a wildcard spanning one or more tokens
	size    int   // templates in the branch
}

// group is a leaf of the tree: the templates one line is compared with.
type group struct {
	clusters []*cluster
}

type cluster struct {
	id       TemplateID
	toks     []string
	kinds    []tokenKind
	variadic int // index of the wildcard spanning one or more tokens, or -1
	count    int64
	text     string // the key: toks joined by one space
	display  string // the text people read (see renderDisplay)
	sample   string // the first line of the template
	alt      string // the last line that generalised it, or ""
	node     *firstNode
	grp      *group
	aliases  []TemplateID // IDs of templates merged into this one
	gone     bool         // evicted or merged into another
	last     int64        // Miner.seq when last matched
	prev     *cluster
	next     *cluster
}

// New returns a Miner bounded by cfg; zero fields take DefaultConfig values.
func New(cfg Config) *Miner {
	return &Miner{
		cfg:    cfg.withDefaults(),
		roots:  make(map[string]*firstNode),
		byID:   make(map[TemplateID]*cluster),
		cache:  make(map[string]*cluster),
		nextID: 1,
	}
}

// Add assigns one log message (the content, without its header) to a
// template, creating or generalising templates as needed.
func (m *Miner) Add(content string) Result {
	m.seq++
	m.cur = content
	m.sc.scan(content)
	if c, ok := m.cache[string(m.sc.key)]; ok {
		if !c.gone {
			c.count++
			m.touch(c)
			return Result{TemplateID: c.id, Template: c.display}
		}
		delete(m.cache, string(m.sc.key))
	}
	node := m.branch()
	line := m.line()
	isNew := false
	c := m.bestFixed(node.byLen[line.len()], line)
	if c != nil {
		m.mergeLine(c, line)
	} else if c = m.bestElastic(node, line); c != nil {
		m.mergeElastic(c, line)
	} else if c = m.pairElastic(node, line); c == nil {
		c = m.create(node, line)
		isNew = true
		if s := m.mergeWordFamily(c); s != nil {
			c, isNew = s, false
		}
	}
	c.count++
	m.touch(c)
	if len(m.cache) >= m.cfg.MaxCachedLines {
		clear(m.cache)
	}
	m.cache[string(m.sc.key)] = c
	m.cur = ""
	return Result{TemplateID: c.id, Template: c.display, New: isNew}
}

// lineView is a scanned line: its masked text and tokens. It is valid until
// the next scan.
type lineView struct {
	key  []byte
	toks []span
}

func (m *Miner) line() lineView { return lineView{key: m.sc.key, toks: m.sc.toks} }

func (l lineView) len() int             { return len(l.toks) }
func (l lineView) tok(i int) []byte     { return l.key[l.toks[i].off:l.toks[i].end] }
func (l lineView) kind(i int) tokenKind { return l.toks[i].kind }

// branch returns the tree branch for the scanned line's first word.
func (m *Miner) branch() *firstNode {
	word := ""
	if len(m.sc.toks) > 0 && m.sc.toks[0].kind == kindWord {
		t := m.sc.toks[0]
		if n := m.roots[string(m.sc.key[t.off:t.end])]; n != nil {
			return n
		}
		if len(m.roots) < m.cfg.MaxFirstWords {
			word = string(m.sc.key[t.off:t.end])
		}
	}
	n := m.roots[word]
	if n == nil {
		n = &firstNode{word: word, byLen: make(map[int]*group)}
		m.roots[word] = n
	}
	return n
}

// bestFixed returns the template of grp that line fits best, or nil.
func (m *Miner) bestFixed(grp *group, line lineView) *cluster {
	if grp == nil {
		return nil
	}
	var best *cluster
	bestSim, bestEq := -1.0, -1
	for _, c := range grp.clusters {
		lits, eq, ok := compare(c.toks, c.kinds, line, 0)
		if !ok || !similarEnough(lits, eq) {
			continue
		}
		sim := fraction(lits, eq)
		if sim > bestSim || sim == bestSim && eq > bestEq {
			best, bestSim, bestEq = c, sim, eq
		}
	}
	return best
}

// compare aligns template tokens with the line's tokens from index lo on.
// It returns the template's literal (non-wildcard) tokens, how many of them
// the line shares, and ok false when a difference forbids joining: two
// different words, or key=value tokens with different keys.
func compare(tt []string, tk []tokenKind, line lineView, lo int) (lits, eq int, ok bool) {
	for i := range tt {
		if tk[i] == kindWild {
			continue
		}
		lits++
		lt := line.tok(lo + i)
		if tt[i] == string(lt) {
			eq++
			continue
		}
		if distinctLiterals(tt[i], tk[i], lt, line.kind(lo+i)) {
			return lits, eq, false
		}
		if ka, kb := keyOf(tt[i]), keyOf(lt); len(ka) > 0 && len(kb) > 0 && ka != string(kb) {
			return lits, eq, false
		}
	}
	return lits, eq, true
}

// isLiteral reports whether a token kind is text without masked parts.
func isLiteral(k tokenKind) bool { return k == kindWord || k == kindConst }

// distinctLiterals reports whether two different tokens at one position
// tell events apart rather than being values of one variable: two words
// (GET and POST, Paused and Resumed), or two constants that end in an
// enumerated name (android.intent.action.SCREEN_ON and ...SCREEN_OFF). Other
// literal text (package names, file names) varies freely. A position with
// enough distinct words is taken to be a variable all the same (see
// mergeWordFamily).
func distinctLiterals(a string, ka tokenKind, b []byte, kb tokenKind) bool {
	switch {
	case ka == kindWord && kb == kindWord:
		return true
	case ka == kindConst && kb == kindConst:
		return isEnumName(lastName(a)) && isEnumName(lastName(b))
	}
	return false
}

// lastName returns the part of t after its last '.', ':', '/' or '='.
func lastName[T string | []byte](t T) T {
	for i := len(t) - 1; i >= 0; i-- {
		switch t[i] {
		case '.', ':', '/', '=':
			return t[i+1:]
		}
	}
	return t
}

// isEnumName reports whether s is written as an enumerated constant is:
// upper-case letters, digits and '_', with a '_' inside (SCREEN_ON).
func isEnumName[T string | []byte](s T) bool {
	under := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' && i > 0 && i < len(s)-1:
			under = true
		default:
			return false
		}
	}
	return under
}

// keyOf returns the key of a key=value token ("(uid" for "(uid=<*>)"), or
// nothing when the token has none or its key is masked.
func keyOf[T string | []byte](t T) T {
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '=':
			return t[:i]
		case '<':
			if i+2 < len(t) && t[i+1] == '*' && t[i+2] == '>' {
				return t[:0]
			}
		}
	}
	return t[:0]
}

func similarEnough(lits, eq int) bool { return fraction(lits, eq) >= similarity }

func fraction(lits, eq int) float64 {
	if lits == 0 {
		return 1
	}
	return float64(eq) / float64(lits)
}

// mergeLine generalises c's template to cover line, which has its length.
func (m *Miner) mergeLine(c *cluster, line lineView) {
	changed := false
	for i := range c.toks {
		if c.kinds[i] != kindWild && c.toks[i] != string(line.tok(i)) {
			c.toks[i], c.kinds[i] = Wildcard, kindWild
			changed = true
		}
	}
	if changed {
		m.generalised(c)
	}
}

// generalised records that the line being added changed template c's
// variables, and renders c again.
func (m *Miner) generalised(c *cluster) {
	c.alt = strings.Clone(m.cur)
	c.render()
	m.renderDisplay(c)
}

// render rebuilds the template text; the tokens then point into it.
func (c *cluster) render() {
	c.text = strings.Join(c.toks, " ")
	off := 0
	for i, t := range c.toks {
		c.toks[i] = c.text[off : off+len(t)]
		off += len(t) + 1
	}
}

// elasticSplit aligns a line with a template whose wildcard at v spans zero
// or more tokens: the template's tokens before v face the line's first
// tokens, those after v its last tokens, and the line's tokens between must
// all be masked values. ok is false when the line is too short or the run
// holds literal text.
func elasticSplit(c *cluster, line lineView) (tail int, ok bool) {
	n, m := line.len(), len(c.toks)
	if n < m-1 {
		return 0, false
	}
	tail = n - (m - c.variadic - 1)
	for i := c.variadic; i < tail; i++ {
		if k := line.kind(i); k != kindWild && k != kindPartial {
			return 0, false
		}
	}
	return tail, true
}

// bestElastic returns the variable-length template of node that line fits
// best, or nil.
func (m *Miner) bestElastic(node *firstNode, line lineView) *cluster {
	var best *cluster
	bestSim, bestEq := -1.0, -1
	for _, c := range node.elastic.clusters {
		tail, ok := elasticSplit(c, line)
		if !ok {
			continue
		}
		v := c.variadic
		l1, e1, ok1 := compare(c.toks[:v], c.kinds[:v], line, 0)
		l2, e2, ok2 := compare(c.toks[v+1:], c.kinds[v+1:], line, tail)
		if !ok1 || !ok2 || !similarEnough(l1+l2, e1+e2) {
			continue
		}
		sim := fraction(l1+l2, e1+e2)
		if sim > bestSim || sim == bestSim && e1+e2 > bestEq {
			best, bestSim, bestEq = c, sim, e1+e2
		}
	}
	return best
}

// mergeElastic generalises variable-length template c to cover line.
func (m *Miner) mergeElastic(c *cluster, line lineView) {
	tail, _ := elasticSplit(c, line)
	v := c.variadic
	if tail == v {
		// The line has nothing where the run is: a masked value both have
		// next to the run belongs to it ("delete blk_1" and "delete blk_1
		// blk_2" are one list).
		if v > 0 && isMasked(c.kinds[v-1]) && isMasked(line.kind(v-1)) {
			m.widenRun(c, v-1, v+1)
			m.mergeElastic(c, line)
			return
		}
		if v+1 < len(c.toks) && isMasked(c.kinds[v+1]) && isMasked(line.kind(v)) {
			m.widenRun(c, v, v+2)
			m.mergeElastic(c, line)
			return
		}
	}
	changed := false
	for i := range c.toks {
		if i == v || c.kinds[i] == kindWild {
			continue
		}
		j := i
		if i > v {
			j = tail + i - v - 1
		}
		if c.toks[i] != string(line.tok(j)) {
			c.toks[i], c.kinds[i] = Wildcard, kindWild
			changed = true
		}
	}
	if changed {
		m.generalised(c)
	}
}

// pairElastic looks for a template of the line's branch, of another length
// or of variable length, that shares at least minAnchor leading tokens with
// the line and whose remaining difference is a run of masked values on both
// sides (with any common trailing tokens aligned from the end), or that
// differs from it by a run of masked values on one side only (see
// gapSplit). The best such
// template becomes, or stays, a variable-length template covering the line,
// which joins it.
func (m *Miner) pairElastic(node *firstNode, line lineView) *cluster {
	var best *cluster
	bestP, bestS := 0, 0
	budget := maxPairScan
	consider := func(c *cluster) {
		budget--
		p, s, ok := anchorSplit(c, line)
		if !ok {
			p, s, ok = gapSplit(c, line)
		}
		if ok && (best == nil || p+s > bestP+bestS || p+s == bestP+bestS && c.id < best.id) {
			best, bestP, bestS = c, p, s
		}
	}
	for _, c := range node.elastic.clusters {
		consider(c)
	}
	// Nearest lengths first, in a fixed order so that the budget cuts the
	// same candidates every time.
	n := line.len()
	var lengths [maxLineTokens + 1]int
	k := 0
	for l := range node.byLen {
		if l != n {
			lengths[k] = l
			k++
		}
	}
	slices.SortFunc(lengths[:k], func(a, b int) int {
		return cmp.Or(cmp.Compare(abs(a-n), abs(b-n)), cmp.Compare(a, b))
	})
	for _, l := range lengths[:k] {
		for _, c := range node.byLen[l].clusters {
			if budget <= 0 {
				break
			}
			consider(c)
		}
	}
	if best == nil {
		return nil
	}
	m.makeElastic(best, bestP, bestS)
	m.mergeElastic(best, line)
	return best
}

func abs(x int) int { return max(x, -x) }

// anchorSplit measures the common prefix p and suffix s of a template and a
// line; ok reports whether the prefix is at least minAnchor long and the
// tokens between are masked values on both sides, at least one on each. A
// variable-length wildcard stays between prefix and suffix.
func anchorSplit(c *cluster, line lineView) (p, s int, ok bool) {
	m, n := len(c.toks), line.len()
	maxP, maxS := min(m, n)-1, min(m, n)-1
	if c.variadic >= 0 {
		maxP, maxS = min(maxP, c.variadic), min(maxS, m-1-c.variadic)
	}
	for p < maxP && (c.kinds[p] == kindWild || c.toks[p] == string(line.tok(p))) {
		p++
	}
	if p < minAnchor {
		return 0, 0, false
	}
	for s < maxS && p+s < min(m, n)-1 && (c.kinds[m-1-s] == kindWild || c.toks[m-1-s] == string(line.tok(n-1-s))) {
		s++
	}
	for _, k := range c.kinds[p : m-s] {
		if k != kindWild && k != kindPartial {
			return 0, 0, false
		}
	}
	for i := p; i < n-s; i++ {
		if k := line.kind(i); k != kindWild && k != kindPartial {
			return 0, 0, false
		}
	}
	return p, s, true
}

// gapSplit aligns a fixed-length template and a line of another length
// that differ by one run of masked values on one side only, an optional
// value ("app.exe *64 - ..." and "app.exe - ..."): every other token faces
// its counterpart, and the shorter side has at least 2·minAnchor tokens.
// The leftmost such run is taken, widened over the masked values both sides
// share at its edges ("delete blk_1" and "delete blk_1 blk_2 blk_3" differ
// by one run of blocks). p and s are the template's tokens before and after
// the run.
func gapSplit(c *cluster, line lineView) (p, s int, ok bool) {
	m, n := len(c.toks), line.len()
	lim := min(m, n)
	if c.variadic >= 0 || m == n || lim < 2*minAnchor {
		return 0, 0, false
	}
	// Stricter than compare: a wildcard faces only masked values, so that a
	// wildcard generalised from words does not swallow the word an optional
	// value displaced.
	match := func(ti, li int) bool {
		return c.kinds[ti] == kindWild && isMasked(line.kind(li)) || c.toks[ti] == string(line.tok(li))
	}
	pre := 0
	for pre < lim && match(pre, pre) {
		pre++
	}
	suf := 0
	for suf < lim && match(m-1-suf, n-1-suf) {
		suf++
	}
	k := abs(m - n)
	for g := max(0, lim-suf); g <= pre; g++ {
		run := true
		for i := g; i < g+k && run; i++ {
			if m > n {
				run = isMasked(c.kinds[i])
			} else {
				run = isMasked(line.kind(i))
			}
		}
		if !run {
			continue
		}
		p, s = g, lim-g
		for p > 0 && isMasked(c.kinds[p-1]) && isMasked(line.kind(p-1)) {
			p--
		}
		for s > 0 && isMasked(c.kinds[m-s]) && isMasked(line.kind(n-s)) {
			s--
		}
		return p, s, true
	}
	return 0, 0, false
}

// isMasked reports whether a token kind holds a masked value.
func isMasked(k tokenKind) bool { return k == kindWild || k == kindPartial }

// widenRun replaces the tokens [lo, hi) of variable-length template c,
// which hold its run, with the run.
func (m *Miner) widenRun(c *cluster, lo, hi int) {
	c.toks = slices.Replace(c.toks, lo, hi, Wildcard)
	c.kinds = slices.Replace(c.kinds, lo, hi, kindWild)
	c.variadic = lo
	m.generalised(c)
	m.forgetLines()
}

// forgetLines empties the line cache after a template's span changed: a
// variable-length wildcard takes in only variable tokens, so lines the
// template held before may no longer fit it, and must be matched afresh.
func (m *Miner) forgetLines() { clear(m.cache) }

// makeElastic turns template c into a variable-length template whose
// wildcard replaces its tokens between prefix p and suffix s.
func (m *Miner) makeElastic(c *cluster, p, s int) {
	m.detach(c)
	mm := len(c.toks)
	toks := append(append(append([]string{}, c.toks[:p]...), Wildcard), c.toks[mm-s:]...)
	kinds := append(append(append([]tokenKind{}, c.kinds[:p]...), kindWild), c.kinds[mm-s:]...)
	c.toks, c.kinds, c.variadic = toks, kinds, p
	m.generalised(c)
	m.forgetLines()
	c.grp = &c.node.elastic
	if len(c.grp.clusters) >= m.cfg.MaxGroupTemplates {
		m.evict(leastRecent(c.grp))
	}
	c.grp.clusters = append(c.grp.clusters, c)
}

// detach removes c from its group, keeping it in the branch.
func (m *Miner) detach(c *cluster) {
	g := c.grp
	if i := slices.Index(g.clusters, c); i >= 0 {
		g.clusters = slices.Delete(g.clusters, i, i+1)
	}
	if c.variadic < 0 && len(g.clusters) == 0 {
		delete(c.node.byLen, len(c.toks))
	}
}

// mergeWordFamily decides whether fresh template c and templates of its
// group that differ from it only in words are one event with word
// variables. A position where wordVariety or more distinct words occur
// among them is a variable (user names, registry hives, the states of
// "Transitioned from NEW to RUNNING"); fewer distinct words are taken to be
// the verbs and states that tell events apart (GET/POST/DELETE). The
// templates whose differences from c lie in variable positions merge into
// the oldest of them, which is returned. It returns nil when nothing merged.
func (m *Miner) mergeWordFamily(c *cluster) *cluster {
	type candidate struct {
		d    *cluster
		diff []int
	}
	var cands []candidate
	for _, d := range c.grp.clusters {
		if d == c {
			continue
		}
		if diff, ok := wordsApart(d, c); ok {
			cands = append(cands, candidate{d, diff})
		}
	}
	if len(cands) == 0 {
		return nil
	}
	values := map[int]map[string]bool{}
	for _, cd := range cands {
		for _, p := range cd.diff {
			if values[p] == nil {
				values[p] = map[string]bool{c.toks[p]: true}
			}
			values[p][cd.d.toks[p]] = true
		}
	}
	family := []*cluster{c}
	for _, cd := range cands {
		inVariable := true
		for _, p := range cd.diff {
			inVariable = inVariable && len(values[p]) >= varietyNeeded(c, p)
		}
		if inVariable {
			family = append(family, cd.d)
		}
	}
	if len(family) == 1 {
		return nil
	}
	slices.SortFunc(family, func(a, b *cluster) int { return cmp.Compare(a.id, b.id) })
	survivor := family[0]
	for _, d := range family[1:] {
		m.absorb(survivor, d)
	}
	return survivor
}

// varietyNeeded is the number of distinct words at position p of template c
// from which p is a variable: wordVariety, or 2 when the word names an
// entity because it follows an entity noun ("for user cyrus"). Entities
// (users, hosts, domains) take values from an open set however few of them
// a log shows, while states and verbs come from a closed one.
func varietyNeeded(c *cluster, p int) int {
	if p > 0 && isEntityNoun(c.toks[p-1]) {
		return 2
	}
	return wordVariety
}

// isEntityNoun reports whether w names a kind of entity whose instances are
// variables.
func isEntityNoun(w string) bool {
	switch strings.ToLower(w) {
	case "user", "username", "account", "login", "host", "hostname", "domain", "group":
		return true
	}
	return false
}

// wordsApart returns the positions where templates d and c differ, if they
// differ only in words (tokens where d has a wildcard aside) and agree on at
// least as many literal tokens as they differ in.
func wordsApart(d, c *cluster) (diff []int, ok bool) {
	eq := 0
	for i := range d.toks {
		switch {
		case d.kinds[i] == kindWild:
		case d.toks[i] == c.toks[i]:
			eq++
		case isLiteral(d.kinds[i]) && isLiteral(c.kinds[i]):
			diff = append(diff, i)
		default:
			return nil, false
		}
	}
	return diff, len(diff) > 0 && eq >= len(diff)
}

// absorb merges template d (of the same length) into s.
func (m *Miner) absorb(s, d *cluster) {
	for i := range s.toks {
		if s.kinds[i] != kindWild && s.toks[i] != d.toks[i] {
			s.toks[i], s.kinds[i] = Wildcard, kindWild
		}
	}
	s.alt = d.sample
	s.render()
	m.renderDisplay(s)
	s.count += d.count
	s.last = max(s.last, d.last)
	s.aliases = append(s.aliases, d.id)
	s.aliases = append(s.aliases, d.aliases...)
	m.remove(d)
	for _, id := range s.aliases {
		m.byID[id] = s
	}
	if over := len(s.aliases) - maxAliases; over > 0 {
		for _, id := range s.aliases[:over] {
			delete(m.byID, id)
		}
		s.aliases = slices.Delete(s.aliases, 0, over)
	}
}

// create starts a template from line, evicting as the bounds require.
func (m *Miner) create(node *firstNode, line lineView) *cluster {
	n := line.len()
	grp := node.byLen[n]
	if grp != nil && len(grp.clusters) >= m.cfg.MaxGroupTemplates {
		m.evict(leastRecent(grp))
	}
	if m.live >= m.cfg.MaxTemplates {
		m.evict(m.lruTail)
	}
	// Eviction may have dropped the group or the branch from the tree.
	if m.roots[node.word] != node {
		m.roots[node.word] = node
	}
	grp = node.byLen[n]
	if grp == nil {
		grp = &group{}
		node.byLen[n] = grp
	}
	c := &cluster{
		id:       m.nextID,
		toks:     make([]string, n),
		kinds:    make([]tokenKind, n),
		variadic: -1,
		node:     node,
		grp:      grp,
		text:     string(line.key),
		sample:   strings.Clone(m.cur),
	}
	for i, t := range line.toks {
		c.toks[i] = c.text[t.off:t.end]
		c.kinds[i] = t.kind
	}
	m.renderDisplay(c)
	m.nextID++
	m.live++
	node.size++
	grp.clusters = append(grp.clusters, c)
	m.byID[c.id] = c
	m.pushFront(c)
	return c
}

// leastRecent returns the template of grp matched least recently.
func leastRecent(grp *group) *cluster {
	var oldest *cluster
	for _, c := range grp.clusters {
		if oldest == nil || c.last < oldest.last {
			oldest = c
		}
	}
	return oldest
}

// evict forgets c and the IDs merged into it.
func (m *Miner) evict(c *cluster) {
	if c == nil {
		return
	}
	for _, id := range c.aliases {
		delete(m.byID, id)
	}
	delete(m.byID, c.id)
	m.remove(c)
}

// remove takes c out of the tree and the LRU list. Its ID entries in byID
// are the caller's business.
func (m *Miner) remove(c *cluster) {
	c.gone = true
	m.live--
	m.unlink(c)
	m.detach(c)
	c.node.size--
	if c.node.size == 0 {
		delete(m.roots, c.node.word)
	}
}

func (m *Miner) pushFront(c *cluster) {
	c.prev = nil
	c.next = m.lruHead
	if m.lruHead != nil {
		m.lruHead.prev = c
	}
	m.lruHead = c
	if m.lruTail == nil {
		m.lruTail = c
	}
}

func (m *Miner) unlink(c *cluster) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if m.lruHead == c {
		m.lruHead = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if m.lruTail == c {
		m.lruTail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (m *Miner) touch(c *cluster) {
	c.last = m.seq
	if m.lruHead == c {
		return
	}
	m.unlink(c)
	m.pushFront(c)
}

// Template returns the current state of the template with the given ID. For
// the ID of a template that was merged into another, it returns the
// survivor, whose ID differs. ok is false if the ID is unknown or evicted.
func (m *Miner) Template(id TemplateID) (t Template, ok bool) {
	c := m.byID[id]
	if c == nil {
		return Template{}, false
	}
	return Template{ID: c.id, Text: c.display, Count: c.count}, true
}

// Templates returns the live templates in ID order.
func (m *Miner) Templates() []Template {
	out := make([]Template, 0, m.live)
	for id, c := range m.byID {
		if c.id == id {
			out = append(out, Template{ID: c.id, Text: c.display, Count: c.count})
		}
	}
	slices.SortFunc(out, func(a, b Template) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
