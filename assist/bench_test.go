package assist

import (
	"context"
	"fmt"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/vigilops/vigil/incident"
)

// bigIncident is a busy incident: 40 pieces of evidence, each log anomaly with
// five example lines, about 25 KB of prompt data.
func bigIncident() *incident.Incident {
	inc := fixture()
	for i := len(inc.Evidence) + 1; len(inc.Evidence) < 40; i++ {
		e := incident.Evidence{ID: fmt.Sprintf("E%d", i), Kind: incident.KindLogAnomaly, Summary: fmt.Sprintf("error burst %d in payments", i),
			Start: t0.Add(time.Duration(i) * time.Second), Data: map[string]string{"service": "payments", "pod": fmt.Sprintf("payments-%d", i%4)}}
		for j := range 5 {
			e.Examples = append(e.Examples, fmt.Sprintf("2026-11-24T03:00:%02dZ ERROR gateway timeout after 30s order=%d session_id=abc%d retry=%d", i, i*100+j, i, j))
		}
		inc.Evidence = append(inc.Evidence, e)
	}
	return inc
}

func benchRedactor(b *testing.B) *Redactor {
	r, err := NewRedactor([]string{`customer-[0-9]{6}`, `(?i)card=[0-9 ]+`}, []string{"hunter2-db-password", "xoxb-123456789012-abcdefghijkl", "sk-live-0123456789abcdef"})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkPrompt is the cost of turning an incident into a redacted prompt.
func BenchmarkPrompt(b *testing.B) {
	inc, r := bigIncident(), benchRedactor(b)
	b.ReportAllocs()
	for b.Loop() {
		d, g := buildData(inc, r)
		s, err := encodeData(d, g)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(s)))
	}
}

// BenchmarkValidateBrief is the cost of validating one answer: the overhead
// the validator adds to every model response.
func BenchmarkValidateBrief(b *testing.B) {
	_, g := buildData(bigIncident(), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, p := parseBrief(goodBrief, g); len(p) > 0 {
			b.Fatal(p)
		}
	}
}

// failingClient fails the benchmark if the cache misses.
type failingClient struct{ b *testing.B }

func (f failingClient) CreateChatCompletion(context.Context, openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	f.b.Fatal("cache miss")
	return openai.ChatCompletionResponse{}, nil
}

// BenchmarkBriefCached is the whole path of a brief answered from the cache:
// prompt, cache key, lookup and validation of the cached answer.
func BenchmarkBriefCached(b *testing.B) {
	inc := bigIncident()
	a, err := New(Options{Client: failingClient{b}, Model: "m", Timeout: time.Second, MaxOutputTokens: 500, IncidentBudget: 1 << 30, Redactor: benchRedactor(b), CacheEntries: 4})
	if err != nil {
		b.Fatal(err)
	}
	d, g := buildData(inc, a.o.Redactor)
	data, _ := encodeData(d, g)
	req := openai.ChatCompletionRequest{Model: "m", Messages: briefMessages(data), MaxCompletionTokens: 500, ResponseFormat: a.responseFormat(KindBrief, briefSchema(g))}
	key, _ := cacheKey(req)
	a.cache.put(key, goodBrief)
	b.ReportAllocs()
	for b.Loop() {
		r, err := a.Brief(context.Background(), inc, 0)
		if err != nil || r.Exchange.Outcome != OutcomeCached {
			b.Fatal(err, r.Exchange.Outcome)
		}
	}
}
