// Package web is the public verification page: html/template pages,
// their Chinese and English texts, the style sheet, and the QR code on a
// result. It knows nothing of HTTP servers: the gateway fills a Page and
// asks a Renderer to write it. Every page works without JavaScript (there
// is none), so a strict Content-Security-Policy costs nothing.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/degreegate/degreegate/policies"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Page is everything one rendering needs. Strings are escaped by
// html/template; nothing here is trusted markup except QR.SVG, which this
// package builds from a bitmap.
type Page struct {
	Lang Lang
	// SwitchURL is this page in the other language.
	SwitchURL string
	// Home is true on the start page (the forms are the main content).
	Home    bool
	Form    VerifyForm
	Code    CodeForm
	Result  *Result
	Problem *Problem
	Privacy *Privacy
	// ReceiptForm shows the check-a-receipt form; Checked is its result.
	ReceiptForm bool
	Checked     *ReceiptCheck
	// Docs is a documentation page: the problem types, or the API.
	Docs *Docs
}

// Docs is one documentation page: the list of problem types, one type
// (what a problem's type URI resolves to), or the API reference.
type Docs struct {
	Problems []ProblemDoc
	Problem  *ProblemDoc
	API      *APIReference
}

// ProblemDoc says what one problem type means and what to do about it.
type ProblemDoc struct {
	Name   string // "rate-limited"
	URI    string // the type as answers carry it
	Status int
	Title  string
	Advice string
}

// APIReference is the OpenAPI document as a page: its operations by tag.
// Its texts are the document's own, in English.
type APIReference struct {
	Title, Version, Description string
	Tags                        []APITag
}

// APITag is one area of the API.
type APITag struct {
	Name, Description string
	Ops               []APIOp
}

// APIOp is one operation.
type APIOp struct {
	ID, Method, Path, Summary, Description string
	Params                                 []APIParam
	Request                                []APIExample
	Responses                              []APIResponse
}

// APIParam is one parameter of an operation.
type APIParam struct {
	Name, In, Description string
	Required              bool
}

// APIExample is one example body, pretty-printed.
type APIExample struct {
	Name, MediaType, Body string
}

// APIResponse is one documented answer.
type APIResponse struct {
	Status, Description string
	Examples            []APIExample
}

// ReceiptCheck says, in the page's words, what checking a receipt found.
type ReceiptCheck struct {
	// Valid: the signature is one of this gateway's keys'; Why is the
	// reason it is not (technical, shown as is).
	Valid bool
	Why   string
	KeyID string
	ID    string
	// IssuedAt, Result, Status and PolicyVersion are the receipt's claims.
	IssuedAt      time.Time
	Result        string
	Status        string
	PolicyVersion string
	// Log is the receipt's leaf, checked against this gateway's log; nil
	// when the receipt names none.
	Log *LogCheck
}

// LogCheck is what the log said of a receipt's leaf.
type LogCheck struct {
	Origin    string
	LeafIndex int64
	TreeSize  int64
	// State is a message key: receiptcheck.log.included, .pending,
	// .absent, .other_log or .unavailable.
	State string
}

// VerifyForm is the certificate-number-and-name form. It never holds the
// name: a submitted name is not shown back, so a wrong name is never
// reflected into the page.
type VerifyForm struct {
	CertificateNumber string
	// Errors maps a field to a message key (error.*).
	Errors map[string]string
}

// CodeForm is the view-by-code form.
type CodeForm struct {
	Error string // message key
}

// Result is one verification outcome.
type Result struct {
	FromCode          bool
	Match             bool
	Revoked           bool
	CertificateNumber string
	Rows              []Row
	// Receipt is the compact JWS the API would have returned.
	Receipt   string
	CheckedAt time.Time
	// ExpiresAt and Level describe a shared code's report.
	ExpiresAt time.Time
	Level     string
	QR        *QR
}

// Row is one disclosed field, labelled in both languages.
type Row struct {
	Field        string
	Label, Other string // in the page's language, and in the other one
	Value        string
}

// Problem is an error page: the HTTP status picks the text.
type Problem struct {
	Status int
	// Key picks a message other than the status's own (error.<status>).
	Key string
	// RetryAfter, in seconds, for 429.
	RetryAfter int
	// Fields maps a bad form field to a message key.
	Fields map[string]string
}

// Privacy explains what the masks hide and why (Art. 22).
type Privacy struct {
	FromCode bool
	Masked   []MaskNote
	Hidden   []string // labels of fields never shown
}

// MaskNote says how one shown field is cut down.
type MaskNote struct{ Label, How string }

// T is the message key in the page's language (templates: {{.T "key"}}).
func (p *Page) T(key string) string { return T(p.Lang, key) }

// ProblemText is the error page's main message.
func (p *Page) ProblemText() string {
	if p.Problem.Key != "" {
		return T(p.Lang, p.Problem.Key)
	}
	return T(p.Lang, fmt.Sprintf("error.%d", p.Problem.Status))
}

// RetryText is a 429 page's "try again in N seconds", read as a
// sentence in either language.
func (p *Page) RetryText() string {
	return fmt.Sprintf(T(p.Lang, "error.429.retry"), p.Problem.RetryAfter)
}

// FieldLabel names a form field in the page's language.
func (p *Page) FieldLabel(field string) string {
	switch field {
	case "code":
		return T(p.Lang, "code.label")
	case "form":
		return ""
	}
	return FieldLabel(p.Lang, field)
}

// StatusWord is the result word in the page's language and in the other
// one: a printed Chinese result is often shown to readers abroad.
func (r *Result) StatusWord(l Lang) (string, string) {
	key := "result.valid"
	if r.Revoked {
		key = "result.revoked"
	}
	return T(l, key), T(l.Other(), key)
}

// jwsShape is a compact JWS: three base64url parts. Only a value of this
// shape becomes a data: URL, so nothing else can be smuggled into href.
var jwsShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$`)

// ReceiptURL is the receipt as a data: URL for a download link: the
// receipt stays with the client and is never kept on the server.
func (r *Result) ReceiptURL() template.URL {
	if !jwsShape.MatchString(r.Receipt) {
		return ""
	}
	return template.URL("data:application/jose;charset=us-ascii," + r.Receipt)
}

// ReceiptFile names the downloaded receipt after the certificate.
func (r *Result) ReceiptFile() string {
	return "degreegate-receipt-" + r.CertificateNumber + ".jws"
}

// china is where the registry's users read times.
var china = time.FixedZone("UTC+8", 8*60*60)

// Time formats t for the page, in China time; "" for the zero time.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(china).Format("2006-01-02 15:04 (UTC+8)")
}

// Rows lists a disclosure's fields in the contract's order, labelled and
// with coded values spelled out.
func Rows(l Lang, d map[string]string) []Row {
	rows := make([]Row, 0, len(d))
	for _, f := range policies.Fields() {
		v, ok := d[f.Name]
		// The status is the headline and the number its own first row.
		if !ok || v == "" || f.Name == "status" || f.Name == "certificate_number" {
			continue
		}
		rows = append(rows, Row{
			Field: f.Name, Label: FieldLabel(l, f.Name), Other: FieldLabel(l.Other(), f.Name),
			Value: ValueLabel(l, f.Name, v),
		})
	}
	return rows
}

// personal reports whether a field is about the person (rather than the
// degree): the fields a reader wonders about when they are missing.
func personal(f policies.Field) bool {
	switch f.Group {
	case "person", "other":
		return true
	case "thesis":
		return f.Name != policies.ClassifiedFlag
	}
	return f.Name == "student_number" || f.Name == "application_number"
}

// NewPrivacy explains a disclosure made under rules: which shown fields
// are masked and how, and which personal fields are never shown.
func NewPrivacy(l Lang, rules []policies.FieldRule, fromCode bool) *Privacy {
	p := &Privacy{FromCode: fromCode}
	masks := make(map[string]policies.Mask, len(rules))
	for _, r := range rules {
		if r.Mask != policies.MaskDrop {
			masks[r.Field] = r.Mask
		}
	}
	// In the contract's order, so the note reads like the result above it.
	for _, f := range policies.Fields() {
		m, shown := masks[f.Name]
		switch {
		case shown && m != policies.MaskClear:
			p.Masked = append(p.Masked, MaskNote{Label: FieldLabel(l, f.Name), How: T(l, "mask."+string(m))})
		case !shown && personal(f):
			p.Hidden = append(p.Hidden, FieldLabel(l, f.Name))
		}
	}
	return p
}

// Join joins a list in l.
func (p *Privacy) Join(l Lang, items []string) string {
	if l == English {
		return strings.Join(items, ", ")
	}
	return strings.Join(items, "、")
}

// Renderer writes pages. Safe for concurrent use.
type Renderer struct {
	tmpl    *template.Template
	assets  map[string]asset
	cssURL  string
	iconURL string
}

type asset struct {
	body        []byte
	contentType string
}

// New parses the embedded templates and indexes the assets; an error here
// is a build mistake, so the server refuses to start.
func New() (*Renderer, error) {
	r := &Renderer{assets: map[string]asset{}}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct := "application/octet-stream"
		switch path.Ext(p) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		r.assets[path.Base(p)] = asset{b, ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	r.cssURL = r.versioned("site.css")
	r.iconURL = r.versioned("icon.svg")
	if r.cssURL == "" || r.iconURL == "" {
		return nil, fmt.Errorf("web: assets: site.css or icon.svg missing")
	}
	funcs := template.FuncMap{
		"T":    T,
		"css":  func() string { return r.cssURL },
		"icon": func() string { return r.iconURL },
		"time": Time,
		"status": func(res *Result, l Lang) []string {
			a, b := res.StatusWord(l)
			return []string{a, b}
		},
		"join": func(p *Privacy, l Lang, items []string) string { return p.Join(l, items) },
	}
	t, err := template.New("page").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	r.tmpl = t
	return r, nil
}

// versioned is an asset's URL with a content hash, so it can be cached
// for long and still change with a release.
func (r *Renderer) versioned(name string) string {
	a, ok := r.assets[name]
	if !ok {
		return ""
	}
	sum := sha256.Sum256(a.body)
	return "/assets/" + name + "?v=" + hex.EncodeToString(sum[:4])
}

// Asset returns an embedded file by name (site.css, icon.svg).
func (r *Renderer) Asset(name string) (body []byte, contentType string, ok bool) {
	a, ok := r.assets[name]
	return a.body, a.contentType, ok
}

// Render writes p as a whole HTML document. It renders into a buffer
// first, so a template error never leaves half a page on the wire.
func (r *Renderer) Render(w io.Writer, p *Page) error {
	var buf bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&buf, "page.html", p); err != nil {
		return fmt.Errorf("web: render: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
