package assist

import (
	"net/http"

	openai "github.com/sashabaranov/go-openai"
)

// maxResponseBytes caps a response body from the endpoint. A brief is a few
// KiB; a larger body is an endpoint misbehaving, and must not cost memory.
const maxResponseBytes = 1 << 20

// ClientConfig says how to reach an OpenAI-compatible chat-completions
// endpoint.
type ClientConfig struct {
	// BaseURL is the API root the path /chat/completions is appended to, e.g.
	// https://api.openai.com/v1, https://NAME.openai.azure.com/openai/v1
	// (Azure's v1 API), http://localhost:11434/v1 (Ollama) or
	// http://localhost:8000/v1 (vLLM).
	BaseURL string
	// APIKey is sent as a bearer token (or Azure's api-key header); local
	// servers may need none.
	APIKey string
	// AzureAPIVersion selects classic Azure OpenAI deployments: requests go to
	// BaseURL/openai/deployments/MODEL/chat/completions?api-version=VERSION
	// with the key in the api-key header.
	AzureAPIVersion string
	// HTTPClient makes the requests; nil uses a new http.Client. Timeouts come
	// from the request context (Options.Timeout).
	HTTPClient *http.Client
}

// NewClient returns a go-openai client for the endpoint whose responses are
// capped at 1 MiB.
func NewClient(c ClientConfig) *openai.Client {
	cfg := openai.DefaultConfig(c.APIKey)
	if c.AzureAPIVersion != "" {
		cfg = openai.DefaultAzureConfig(c.APIKey, c.BaseURL)
		cfg.APIVersion = c.AzureAPIVersion
		// Deployment names are used as given; go-openai's default mapper
		// rewrites some model names.
		cfg.AzureModelMapperFunc = func(model string) string { return model }
	}
	cfg.BaseURL = c.BaseURL
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	cfg.HTTPClient = cappedDoer{hc}
	return openai.NewClientWithConfig(cfg)
}

// cappedDoer makes a request and caps the response body it hands back.
type cappedDoer struct{ c *http.Client }

func (d cappedDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if err != nil {
		return nil, err
	}
	// MaxBytesReader accepts a nil ResponseWriter: past the cap, Read fails
	// with *http.MaxBytesError.
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxResponseBytes)
	return resp, nil
}
