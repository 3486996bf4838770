package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QR is a QR code that opens Link, drawn as inline SVG: it stays sharp
// at any size and in print, and needs no image route or data: image.
type QR struct {
	Link string
	// Alt describes the picture to screen readers.
	Alt string
	SVG template.HTML
}

// maxQRLink keeps codes small enough to scan from paper.
const maxQRLink = 512

// NewQR encodes link. The SVG is built here from the code's bitmap and
// numbers only: no part of link is written into the markup, so it is safe
// to mark as HTML.
func NewQR(link, alt string) (*QR, error) {
	if link == "" || len(link) > maxQRLink {
		return nil, fmt.Errorf("web: qr: link must be 1 to %d bytes", maxQRLink)
	}
	// Medium (15 % of the code may be lost) survives a smudged printout
	// and keeps a 512-byte link at a size a phone reads from paper.
	q, err := qrcode.NewWith(link, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("web: qr: %w", err)
	}
	var bm bitmap
	if err := q.Save(&bm); err != nil {
		return nil, fmt.Errorf("web: qr: %w", err)
	}
	return &QR{Link: link, Alt: alt, SVG: template.HTML(svg(bm.rows))}, nil
}

// bitmap is a qrcode.Writer that keeps the symbol's modules, row by row.
type bitmap struct{ rows [][]bool }

func (b *bitmap) Write(m qrcode.Matrix) error {
	b.rows = m.Bitmap()
	return nil
}

func (b *bitmap) Close() error { return nil }

// quietZone is the light margin, in modules, that the QR standard asks
// for around the symbol (ISO/IEC 18004: 4); scanners need it to find the
// code on a page.
const quietZone = 4

// svg draws the dark modules of bm as one path, a run of modules per
// segment, inside a light quiet zone.
func svg(bm [][]bool) string {
	n := len(bm) + 2*quietZone
	var b strings.Builder
	b.Grow(n * n)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="qr-svg" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(n) + " " + strconv.Itoa(n))
	b.WriteString(`" shape-rendering="crispEdges" aria-hidden="true" focusable="false">`)
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+quietZone, y+quietZone, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}
