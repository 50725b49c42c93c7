package runbooks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// HTTPStep sends one HTTP request and checks the response.
//
//	steps:
//	  - id: purge
//	    run: http
//	    method: POST                        # default GET
//	    url: "https://cache.internal/purge?key={{ .params.key }}"
//	    headers: {Authorization: "Bearer ${CACHE_TOKEN}"}
//	    body: '{"scope": "all"}'
//	    env: [CACHE_TOKEN]                  # secrets usable as ${NAME}
//	    expect:
//	    status: [200, 202]                # default: any 2xx
//	    json: {status: ok, "result.purged": "true"}
//
// Secrets appear in url, headers and body only as ${NAME}; they are substituted
// when the request is sent, so plans show the placeholder.
type HTTPStep struct {
	httpRequest
}

// httpRequest is an HTTP request with expectations: an http step, or a verify
// step's http check.
type httpRequest struct {
	Method    string
	methodPos Pos
	URL       *Template
	Headers   []httpHeader
	Body      *Template
	Env       []EnvEntry
	Status    []int
	JSON      []JSONAssertion
	at        Pos
}

type httpHeader struct {
	Name  string
	Value *Template
}

// HTTPSpec is a rendered HTTP request with its expectations.
type HTTPSpec struct {
	Method  string   `json:"method"`
	URL     string   `json:"url"`
	Headers []Header `json:"headers,omitempty"`
	Body    string   `json:"body,omitempty"`
	// Status lists the accepted status codes; empty accepts any 2xx.
	Status []int           `json:"status,omitempty"`
	JSON   []JSONAssertion `json:"json,omitempty"`
}

// Header is one request header; its value may hold ${NAME} secret placeholders.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

var (
	_ StepType  = (*HTTPStep)(nil)
	_ Validator = (*HTTPStep)(nil)
	_ envUser   = (*HTTPStep)(nil)

	httpFields   = []string{"method", "url", "headers", "body", "env", "expect"}
	expectFields = []string{"status", "json"}
	httpMethods  = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
)

func (*HTTPStep) options() []string { return execOptions }
func (*HTTPStep) fields() []string  { return httpFields }

func (t *HTTPStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	t.httpRequest = decodeHTTPRequest(p, f, "step "+s.ID, s.Pos)
}

// Validate checks the method, the URL and the secrets the request refers to.
func (t *HTTPStep) Validate() error { return t.validate() }

func (t *HTTPStep) templates() []*Template { return t.httpRequest.templates() }
func (t *HTTPStep) envEntries() []EnvEntry { return t.Env }
func (t *HTTPStep) render(rc *renderContext, out *incident.Step) error {
	spec, err := t.httpRequest.render(rc, out)
	if err != nil {
		return err
	}
	out.Spec, out.Display = marshalSpec(spec), spec.display()
	return nil
}

func decodeHTTPRequest(p *problems, f map[string]*yaml.Node, what string, at Pos) httpRequest {
	r := httpRequest{Method: http.MethodGet, at: at, methodPos: at}
	if m := f["method"]; m != nil {
		r.Method, r.methodPos = strings.ToUpper(p.str(m, what+": method")), posOf(m)
	}
	if u := f["url"]; u != nil {
		r.URL = p.template(u, what+" url")
	} else {
		p.add(at, "%s is missing \"url\"", what)
	}
	if h := f["headers"]; h != nil {
		for _, kv := range p.strMap(h, what+": headers") {
			n := yaml.Node{Kind: yaml.ScalarNode, Value: kv.Value, Line: kv.ValuePos.Line, Column: kv.ValuePos.Col}
			if v := p.template(&n, what+" header "+kv.Key); v != nil {
				r.Headers = append(r.Headers, httpHeader{Name: kv.Key, Value: v})
			}
		}
	}
	r.Body = p.template(f["body"], what+" body")
	if e := f["env"]; e != nil {
		r.Env = decodeEnv(p, e, strings.TrimPrefix(what, "step "))
	}
	if e := f["expect"]; e != nil {
		ef := p.fields(e, what+": expect", expectFields...)
		if st := ef["status"]; st != nil {
			nodes := []*yaml.Node{st}
			if st.Kind == yaml.SequenceNode {
				nodes = st.Content
			}
			for _, n := range nodes {
				if code := p.integer(n, what+": expect.status", 100, 599); code != 0 {
					r.Status = append(r.Status, code)
				}
			}
		}
		if js := ef["json"]; js != nil {
			for _, kv := range p.strMap(js, what+": expect.json") {
				if !validJSONPath(kv.Key) {
					p.add(kv.KeyPos, "%s: expect.json path %q must be dotted names or indexes, e.g. data.items.0.status", what, kv.Key)
				}
				r.JSON = append(r.JSON, JSONAssertion{Path: kv.Key, Equals: kv.Value})
			}
		}
	}
	return r
}

func (r *httpRequest) validate() error {
	var p problems
	if !slices.Contains(httpMethods, r.Method) {
		p.add(r.methodPos, "method %q must be one of %s", r.Method, strings.Join(httpMethods, ", "))
	}
	if r.URL != nil && !strings.Contains(r.URL.Raw, "{{") {
		if err := checkURL(r.URL.Raw); err != nil {
			p.add(r.URL.Pos, "%v", err)
		}
	}
	secrets := map[string]bool{}
	for _, e := range r.Env {
		if e.Value != nil {
			p.add(e.Pos, "env %s: http requests take secrets only (NAME), used as ${NAME} in url, headers or body", e.Name)
		}
		secrets[e.Name] = true
	}
	for _, t := range r.secretTemplates() {
		for _, m := range secretRefRE.FindAllStringSubmatch(t.Raw, -1) {
			if !secrets[m[1]] {
				p.add(t.Pos, "${%s} is not in this request's env; add env: [%s] (and declare it under secrets:)", m[1], m[1])
			}
		}
	}
	return p.err()
}

// secretTemplates are the fields where ${NAME} is substituted.
func (r *httpRequest) secretTemplates() []*Template {
	ts := []*Template{r.URL, r.Body}
	for _, h := range r.Headers {
		ts = append(ts, h.Value)
	}
	return slices.DeleteFunc(ts, func(t *Template) bool { return t == nil })
}

func (r *httpRequest) templates() []*Template { return r.secretTemplates() }

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http:// or https:// URL", raw)
	}
	return nil
}

func (r *httpRequest) render(rc *renderContext, out *incident.Step) (HTTPSpec, error) {
	spec := HTTPSpec{Method: r.Method, Status: r.Status, JSON: r.JSON}
	var err error
	if spec.URL, err = r.URL.render(rc.data); err != nil {
		return spec, fmt.Errorf("url: %w", err)
	}
	if err := checkURL(secretRefRE.ReplaceAllString(spec.URL, "x")); err != nil {
		return spec, err
	}
	for _, h := range r.Headers {
		v, err := h.Value.render(rc.data)
		if err != nil {
			return spec, fmt.Errorf("header %s: %w", h.Name, err)
		}
		spec.Headers = append(spec.Headers, Header{Name: h.Name, Value: v})
	}
	if spec.Body, err = r.Body.render(rc.data); err != nil {
		return spec, fmt.Errorf("body: %w", err)
	}
	if _, _, err := renderEnv(rc, r.Env, out); err != nil {
		return spec, err
	}
	return spec, nil
}

// display is the request as one line: curl-like, with ${NAME} placeholders.
func (s HTTPSpec) display() string {
	parts := []string{s.Method, s.URL}
	for _, h := range s.Headers {
		parts = append(parts, "-H", incident.ShellQuote([]string{h.Name + ": " + h.Value}))
	}
	if s.Body != "" {
		parts = append(parts, "-d", incident.ShellQuote([]string{s.Body}))
	}
	return strings.Join(parts, " ") + " → " + s.expectation()
}

func (s HTTPSpec) expectation() string {
	want := "expect 2xx"
	if len(s.Status) > 0 {
		codes := make([]string, len(s.Status))
		for i, c := range s.Status {
			codes[i] = strconv.Itoa(c)
		}
		want = "expect " + strings.Join(codes, " or ")
	}
	for _, a := range s.JSON {
		want += fmt.Sprintf(", %s == %q", a.Path, a.Equals)
	}
	return want
}

// maxJSONBody bounds how much of a response is read for JSON assertions.
const maxJSONBody = 4 << 20

func (e Executor) runHTTP(ctx context.Context, spec HTTPSpec, r *stepRun) outcome {
	o := e.probeHTTP(ctx, spec, r)
	if o.err != "" && ctx.Err() != nil {
		o.err = r.ctxError(ctx, "")
	}
	return o
}

// probeHTTP sends the request once and checks the response.
func (e Executor) probeHTTP(ctx context.Context, spec HTTPSpec, r *stepRun) outcome {
	out := r.newOutput(e.Shell.maxOutput())
	req, err := http.NewRequestWithContext(ctx, spec.Method, r.expand(spec.URL), strings.NewReader(r.expand(spec.Body)))
	if err != nil {
		return outcome{exit: -1, err: err.Error()}
	}
	for _, h := range spec.Headers {
		req.Header.Add(h.Name, r.expand(h.Value))
	}
	client := e.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return outcome{exit: -1, err: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	fmt.Fprintf(out, "HTTP %s\n", resp.Status)
	_, _ = out.Write(body)
	if err != nil {
		return outcome{exit: -1, out: out, err: fmt.Sprintf("reading the response: %v", err)}
	}
	if ok := slices.Contains(spec.Status, resp.StatusCode) || (len(spec.Status) == 0 && resp.StatusCode/100 == 2); !ok {
		return outcome{exit: 1, out: out, err: fmt.Sprintf("status %d, %s", resp.StatusCode, spec.expectation())}
	}
	if len(spec.JSON) > 0 {
		doc, err := decodeJSON(body)
		if err != nil {
			return outcome{exit: 1, out: out, err: err.Error()}
		}
		for _, a := range spec.JSON {
			if err := a.check(doc); err != nil {
				return outcome{exit: 1, out: out, err: err.Error()}
			}
		}
	}
	return outcome{ok: true, out: out}
}
