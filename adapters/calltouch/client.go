// Package calltouch sends leads to Calltouch's "register request" API
// (docs/calltouch.md, "The request").
package calltouch

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

const contentType = "application/x-www-form-urlencoded; charset=utf-8"

// Client is the app.Calltouch port over HTTP.
type Client struct {
	http      *http.Client
	userAgent string
}

var _ app.Calltouch = (*Client)(nil)

// New returns a client whose every try, answer included, ends within timeout
// (CTJ_CALLTOUCH_TIMEOUT); version goes in the User-Agent.
func New(timeout time.Duration, version string) *Client {
	return &Client{
		http: &http.Client{
			Timeout:   timeout,
			Transport: transport(),
			// A redirect is an answer, not a detour: following it would turn
			// the POST into a GET without the lead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		userAgent: "ctjournal/" + version,
	}
}

// transport keeps a connection per delivery in flight alive between tries
// (the default keeps 2 per host, so parallel tries to one Calltouch host
// would open a new connection, TLS handshake included, almost every time).
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// Register sends one lead and reports what came back. It never fails: a try
// that got no HTTP answer has Status 0 and Err saying why.
func (c *Client) Register(ctx context.Context, req app.CalltouchRequest) app.CalltouchAnswer {
	start := time.Now()
	answer := c.register(ctx, req)
	answer.Duration = time.Since(start)
	// Error texts quote URLs and server words; the token must not ride along.
	answer.Err = domain.MaskTokenIn(answer.Err, req.Token)
	return answer
}

func (c *Client) register(ctx context.Context, req app.CalltouchRequest) app.CalltouchAnswer {
	target := req.BaseURL + "/calls-service/RestAPI/requests/" + url.PathEscape(req.SiteID) + "/register/"
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(req.Body))
	if err != nil {
		return app.CalltouchAnswer{Err: "build request: " + err.Error()}
	}
	httpReq.Header.Set("Content-Type", contentType)
	httpReq.Header.Set("Access-Token", req.Token)
	httpReq.Header.Set("User-Agent", c.userAgent)

	resp, err := c.http.Do(httpReq)
	if err != nil {
		return app.CalltouchAnswer{Err: err.Error()}
	}
	defer resp.Body.Close()
	return readAnswer(resp, time.Now(), req.Token)
}
