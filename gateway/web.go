package gateway

import (
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/gateway/web"
	"github.com/degreegate/degreegate/policies"
)

// The public web page (Art. 22): the same verification as POST /v1/verify
// — the same limits, audit and receipts, through s.verifyPublic — served
// as HTML that works without JavaScript. Errors are HTML pages with the
// API's status codes; problem+json stays for the API.

// maxFormBody bounds a form post: two short fields and a language fit in
// a small fraction of this.
const maxFormBody = 4 << 10

// contentSecurityPolicy allows the page's own style sheet and icon and the
// inline SVG QR code, and nothing else: no scripts at all, no framing, and
// forms that post only back here.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// webPage holds what the page handlers share, built once at start-up.
type webPage struct {
	s       *Server
	render  *web.Renderer
	privacy map[web.Lang]*web.Privacy
	apiRef  *web.APIReference
}

// newWebPage builds the page's renderer. It fails only on a build
// mistake (the templates are embedded).
func (s *Server) newWebPage() (*webPage, error) {
	r, err := web.New()
	if err != nil {
		return nil, err
	}
	ref, err := apiReference(s.openAPI)
	if err != nil {
		return nil, err
	}
	p := &webPage{s: s, render: r, privacy: map[web.Lang]*web.Privacy{}, apiRef: ref}
	for _, l := range []web.Lang{web.Chinese, web.English} {
		p.privacy[l] = web.NewPrivacy(l, s.public.decision.Fields(), false)
	}
	return p, nil
}

// handleHome is GET /: the two forms. ?certificate_number= pre-fills the
// number (the QR code on a result links here that way); ?code= is the
// code form's answer, sent on to the code view.
func (p *webPage) handleHome(c *fiber.Ctx) error {
	lang := web.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	page := p.newPage(lang, "/")
	page.Home = true
	if code := c.Query("code"); code != "" {
		canon, ok := disclose.CanonicalCode(code)
		if !ok {
			page.Code.Error = "error.code_shape"
			return p.fail(c, page, invalid(map[string]string{"code": "wrong shape"}))
		}
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		return c.Redirect("/code/"+disclose.GroupCode(canon)+"?lang="+string(lang), fiber.StatusSeeOther)
	}
	if n := displayCertificate(c.Query("certificate_number")); n != "" && disclose.CheckCertificateNumber(n) == "" {
		page.Form.CertificateNumber = n
	}
	return p.send(c, fiber.StatusOK, page)
}

// handleVerify is POST /verify, the form's target.
func (p *webPage) handleVerify(c *fiber.Ctx) error {
	lang := web.Negotiate("", c.Get(fiber.HeaderAcceptLanguage))
	if l, ok := web.ParseLang(formLang(c)); ok {
		lang = l
	}
	page := p.newPage(lang, "/")
	// Browsers say where a post came from. Another site's page may not use
	// our visitors' browsers to run lookups (that would spread one site's
	// guessing over many addresses and past the per-address limits).
	if site := c.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return p.fail(c, page, problemCrossSite)
	}
	pc, err := p.s.admitPublic(c)
	if err != nil {
		return p.fail(c, page, err)
	}
	req, err := decodeVerifyForm(c)
	page.Form.CertificateNumber = displayCertificate(req.CertificateNumber)
	if err != nil {
		return p.fail(c, page, err)
	}
	sc := p.s.getScratch()
	defer p.s.putScratch(sc)
	ans, err := p.s.verifyPublic(c, pc, req, sc)
	if err != nil {
		return p.fail(c, page, err)
	}
	cert := displayCertificate(req.CertificateNumber)
	res := &web.Result{
		Match: ans.Match, Revoked: ans.Status == "revoked",
		CertificateNumber: cert, CheckedAt: p.s.deps.Now(),
	}
	if !res.Match {
		// Show the form again, number kept, name empty: a wrong name is
		// never written back into the page.
		page.Result, page.Home = res, true
		return p.send(c, fiber.StatusOK, page)
	}
	res.Rows = web.Rows(lang, policies.DisclosureOf(ans.Shown))
	res.Receipt = string(ans.Receipt)
	// The QR code cannot carry the name (it would end up in browser
	// histories and photos of the printout), so it opens this page with
	// the number filled in: whoever scans it enters the name and gets a
	// live answer, which also shows a revocation made after printing.
	if base := p.s.baseURL(c); base != "" {
		link := base + "/?" + url.Values{"lang": {string(lang)}, "certificate_number": {cert}}.Encode()
		if qr, err := web.NewQR(link, web.T(lang, "qr.alt.page")); err == nil {
			res.QR = qr
		}
	}
	page.Result, page.Privacy = res, p.privacy[lang]
	return p.send(c, fiber.StatusOK, page)
}

// handleCode is GET /code/{code}: the report a holder shared, through
// s.viewSharedReport exactly as GET /v1/verify/{code} shows it (limits,
// audit, receipt), as a page.
func (p *webPage) handleCode(c *fiber.Ctx) error {
	lang := web.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	raw := c.Params("code")
	canon, wellFormed := disclose.CanonicalCode(raw)
	self := "/"
	if wellFormed {
		self = "/code/" + disclose.GroupCode(canon)
	}
	page := p.newPage(lang, self)
	rep, err := p.s.viewSharedReport(c, raw)
	if err != nil {
		var prob *Problem
		if errors.As(err, &prob) && prob.Status == fiber.StatusBadRequest {
			// A mistyped code: the code form again, nothing echoed.
			page.Home, page.Code.Error = true, "error.code_shape"
		}
		return p.fail(c, page, err)
	}
	res := &web.Result{
		FromCode: true, Match: true, Revoked: rep.Status == "revoked",
		CertificateNumber: displayCertificate(rep.CertificateNumber),
		Rows:              web.Rows(lang, rep.Degree), Receipt: rep.Receipt,
		CheckedAt: p.s.deps.Now(), ExpiresAt: rep.ExpiresAt,
		Level: rep.LevelDescription.ZH,
	}
	if lang == web.English {
		res.Level = rep.LevelDescription.EN
	}
	// The QR code opens this same report: printed, it lets a reader check
	// the paper against the live record while the holder's code lasts.
	if base := p.s.baseURL(c); base != "" {
		if qr, err := web.NewQR(base+self+"?lang="+string(lang), web.T(lang, "qr.alt.code")); err == nil {
			res.QR = qr
		}
	}
	page.Result = res
	page.Privacy = web.NewPrivacy(lang, rep.rules, true)
	return p.send(c, fiber.StatusOK, page)
}

// handleReceiptForm is GET /receipt: the check-a-receipt form.
func (p *webPage) handleReceiptForm(c *fiber.Ctx) error {
	lang := web.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	page := p.newPage(lang, "/receipt")
	page.ReceiptForm = true
	return p.send(c, fiber.StatusOK, page)
}

// maxReceiptForm bounds POST /receipt: a receipt (token.MaxReceiptBytes)
// pasted or uploaded, and the multipart framing around it.
const maxReceiptForm = token.MaxReceiptBytes + 4<<10

// handleReceiptCheck is POST /receipt: a pasted or uploaded receipt,
// checked as `degreegate receipt verify` does, with this gateway's keys
// and log, and the page saying what was checked.
func (p *webPage) handleReceiptCheck(c *fiber.Ctx) error {
	lang := web.Negotiate("", c.Get(fiber.HeaderAcceptLanguage))
	page := p.newPage(lang, "/receipt")
	page.ReceiptForm = true
	if site := c.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return p.fail(c, page, problemCrossSite)
	}
	if _, err := p.s.admitPublic(c); err != nil {
		return p.fail(c, page, err)
	}
	jws, l, err := decodeReceiptForm(c)
	if l != "" {
		if pl, ok := web.ParseLang(l); ok {
			page = p.newPage(pl, "/receipt")
			page.ReceiptForm = true
		}
	}
	if err != nil {
		return p.fail(c, page, err)
	}
	checked, err := p.s.checkReceipt(c.UserContext(), jws)
	if err != nil {
		return p.fail(c, page, err)
	}
	page.Checked = checked
	return p.send(c, fiber.StatusOK, page)
}

// decodeReceiptForm reads the receipt from a multipart form (the
// page's) or a url-encoded one: the field "receipt", or the file "file";
// exactly one of them. It also returns the form's lang.
func decodeReceiptForm(c *fiber.Ctx) (jws, lang string, err error) {
	if len(c.Body()) > maxReceiptForm {
		return "", "", problemFormTooLarge
	}
	ct := strings.ToLower(strings.TrimSpace(string(c.Request().Header.ContentType())))
	var pasted, uploaded string
	switch {
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, ferr := c.MultipartForm()
		if ferr != nil {
			return "", "", invalid(map[string]string{"form": "not a multipart form"})
		}
		lang, pasted = first(form.Value["lang"]), first(form.Value["receipt"])
		if files := form.File["file"]; len(files) == 1 && files[0].Size > 0 {
			if files[0].Size > token.MaxReceiptBytes {
				return "", lang, problemFormTooLarge
			}
			f, ferr := files[0].Open()
			if ferr != nil {
				return "", lang, invalid(map[string]string{"file": "cannot be read"})
			}
			b, ferr := io.ReadAll(io.LimitReader(f, token.MaxReceiptBytes+1))
			f.Close()
			if ferr != nil {
				return "", lang, invalid(map[string]string{"file": "cannot be read"})
			}
			uploaded = string(b)
		}
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		vals, perr := url.ParseQuery(string(c.Body()))
		if perr != nil {
			return "", "", invalid(map[string]string{"form": "not a url-encoded form"})
		}
		lang, pasted = vals.Get("lang"), vals.Get("receipt")
	default:
		return "", "", problemFormMedia
	}
	pasted, uploaded = strings.TrimSpace(pasted), strings.TrimSpace(uploaded)
	switch {
	case pasted == "" && uploaded == "":
		return "", lang, invalid(map[string]string{"receipt": "required"})
	case pasted != "" && uploaded != "":
		return "", lang, invalid(map[string]string{"receipt": "paste or upload, not both"})
	case pasted != "":
		return pasted, lang, nil
	}
	return uploaded, lang, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// handleAsset serves the embedded style sheet and icon.
func (p *webPage) handleAsset(c *fiber.Ctx) error {
	body, ct, ok := p.render.Asset(c.Params("name"))
	if !ok {
		return errNotFound
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	// URLs carry a content hash (?v=), so a long cache is safe.
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return c.Send(body)
}

// newPage starts a page in lang; self is its path for the language switch.
func (p *webPage) newPage(lang web.Lang, self string) *web.Page {
	return &web.Page{Lang: lang, SwitchURL: self + "?lang=" + string(lang.Other())}
}

// fail renders err as an HTML error page with the status the API would
// have given. Bad input shows the form again with each field's problem.
func (p *webPage) fail(c *fiber.Ctx, page *web.Page, err error) error {
	var prob *Problem
	if !errors.As(err, &prob) {
		p.s.deps.Logger.Error("internal error", "route", c.Route().Path, "err", err)
		prob = problemInternal
	}
	wp := &web.Problem{Status: prob.Status}
	switch prob.Type {
	case problemCodeWithdrawn.Type:
		wp.Key = "error.410.withdrawn"
	case "/problems/cross-site":
	default:
		if prob.Status == fiber.StatusForbidden {
			wp.Key = "error.403.policy" // the policy no longer allows the report
		}
	}
	switch prob.Status {
	case fiber.StatusBadRequest:
		wp.Fields = map[string]string{}
		for field, why := range prob.Errors {
			wp.Fields[field] = fieldMessage(field, why)
		}
		if len(wp.Fields) == 0 {
			wp.Fields["form"] = "error.field_extra"
		}
		page.Form.Errors = wp.Fields
		page.Home = true
	case fiber.StatusTooManyRequests:
		wp.RetryAfter, _ = strconv.Atoi(string(c.Response().Header.Peek(fiber.HeaderRetryAfter)))
	case fiber.StatusForbidden, fiber.StatusNotFound, fiber.StatusGone,
		fiber.StatusRequestEntityTooLarge, fiber.StatusUnsupportedMediaType, fiber.StatusServiceUnavailable:
	default:
		wp.Status = fiber.StatusInternalServerError
	}
	page.Problem = wp
	return p.send(c, wp.Status, page)
}

// fieldMessage turns a field's problem (verifyPublic's words) into the
// page's message key.
func fieldMessage(field, why string) string {
	switch {
	case why == "required":
		return "error.required"
	case field == "certificate_number":
		return "error.cert_shape"
	case field == "code":
		return "error.code_shape"
	case field == "form":
		return "error.field_extra"
	}
	return "error.text_invalid"
}

// send renders page with the HTML security headers. Pages are never
// cached: a result holds (masked) personal data, and every page depends
// on Accept-Language.
func (p *webPage) send(c *fiber.Ctx, status int, page *web.Page) error {
	var b strings.Builder
	if err := p.render.Render(&b, page); err != nil {
		p.s.deps.Logger.Error("web: render", "err", err)
		return problemInternal
	}
	h := &c.Response().Header
	h.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	h.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderCacheControl, "no-store")
	h.Set(fiber.HeaderVary, fiber.HeaderAcceptLanguage)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	c.Status(status)
	return c.SendString(b.String())
}

// decodeVerifyForm reads the form strictly, as decodeJSON reads JSON:
// url-encoded only, small, known fields once each. Field values are
// checked by verifyPublic itself. The returned request carries the number
// even on error, so the page can show it again.
func decodeVerifyForm(c *fiber.Ctx) (verifyRequest, error) {
	var req verifyRequest
	ct := strings.ToLower(string(c.Request().Header.ContentType()))
	if !strings.HasPrefix(strings.TrimSpace(ct), fiber.MIMEApplicationForm) {
		return req, problemFormMedia
	}
	body := c.Body()
	if len(body) > maxFormBody {
		return req, problemFormTooLarge
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return req, invalid(map[string]string{"form": "not a url-encoded form"})
	}
	for k, v := range vals {
		switch {
		case k != "certificate_number" && k != "name" && k != "lang":
			return req, invalid(map[string]string{"form": "unknown field"})
		case len(v) != 1:
			return req, invalid(map[string]string{"form": "repeated field"})
		}
	}
	req.CertificateNumber, req.Name = vals.Get("certificate_number"), vals.Get("name")
	return req, nil
}

// formLang is the form's lang field, read without failing on a bad body
// (the decoder reports that), so even an error page speaks the language
// the visitor chose.
func formLang(c *fiber.Ctx) string {
	if len(c.Body()) > maxFormBody {
		return ""
	}
	v, err := url.ParseQuery(string(c.Body()))
	if err != nil {
		return ""
	}
	return v.Get("lang")
}

// displayCertificate is a submitted number as it may be shown back: trimmed
// and upper-cased as verification reads it, and only when it is made of
// letters and digits, so nothing but a certificate-shaped string is ever
// reflected into the page.
func displayCertificate(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || len(s) > 17 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return ""
		}
	}
	return s
}

// baseURL is the gateway's absolute address: Deps.PublicURL when set,
// else what the Host header (or a trusted proxy's X-Forwarded-Host/-Proto)
// names; a host of any other shape gives "" (a page goes without a QR
// code, a problem's type stays relative).
func (s *Server) baseURL(c *fiber.Ctx) string {
	if s.deps.PublicURL != "" {
		return s.deps.PublicURL
	}
	scheme := "http"
	if c.Context().IsTLS() {
		scheme = "https"
	}
	host := string(c.Request().Host())
	if s.deps.Proxies.Trusted(ratelimit.PeerAddr(c.Context().RemoteAddr())) {
		if h := c.Get(fiber.HeaderXForwardedHost); h != "" {
			host = h
		}
		if pr := c.Get(fiber.HeaderXForwardedProto); pr == "https" || pr == "http" {
			scheme = pr
		}
	}
	if !validHost(host) {
		return ""
	}
	return scheme + "://" + host
}

// ParsePublicURL checks a configured public address (Deps.PublicURL) and
// returns it as scheme://host[:port]: http or https, a host of validHost's
// shape, and nothing else (no user, path, query or fragment) for links to
// append to.
func ParsePublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("want http:// or https://")
	case !validHost(u.Host) || u.Hostname() == "" || !validPort(u.Host, u.Port()):
		return "", errors.New("want a host name or address, with an optional port")
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", errors.New("want scheme://host[:port] only, without a path, query or user")
	}
	return u.Scheme + "://" + u.Host, nil
}

// validPort accepts no port, or a port of 1 to 65535 (url.Parse has
// already refused anything but digits); host is the URL's host part, to
// tell "h" from "h:" (an empty port).
func validPort(host, port string) bool {
	if port == "" {
		return !strings.HasSuffix(host, ":")
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// validHost accepts host, host:port and [v6]:port made of the characters
// those may hold.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}
