package web

import (
	"fmt"
	"image"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// TestQRScans draws each code as a scanner would see it and decodes it
// with an independent decoder (gozxing, a port of ZXing): what the page
// shows must open the link it was made from, quiet zone included.
func TestQRScans(t *testing.T) {
	for _, link := range []string{
		"http://127.0.0.1:8080/?certificate_number=1000142020123456",
		"https://verify.example.org/v1/verify/ABCD-EFGH-JKLM-NPQR-STUV?lang=en",
		"https://verify.example.org/?q=" + strings.Repeat("7", maxQRLink-len("https://verify.example.org/?q=")),
	} {
		q, err := NewQR(link, "alt")
		if err != nil {
			t.Fatalf("NewQR(%d bytes): %v", len(link), err)
		}
		img, modules := rasterize(t, string(q.SVG), 4)
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err != nil {
			t.Fatalf("%d-byte link: the drawing does not scan: %v", len(link), err)
		}
		if got.GetText() != link {
			t.Errorf("scanned %q, want %q", got.GetText(), link)
		}
		// A symbol is 17 + 4·version modules wide, inside the quiet zone.
		if side := modules - 2*quietZone; side < 21 || (side-17)%4 != 0 {
			t.Errorf("%d modules across: not a QR symbol in a %d-module quiet zone", modules, quietZone)
		}
	}
}

var (
	svgViewBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)
	svgPath    = regexp.MustCompile(` d="([^"]*)"`)
	svgRun     = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
)

// rasterize paints the dark runs of an SVG drawn by svg onto a white
// image, scale pixels a module, and returns it with its width in modules.
func rasterize(t *testing.T, s string, scale int) (image.Image, int) {
	t.Helper()
	vb := svgViewBox.FindStringSubmatch(s)
	if vb == nil || vb[1] != vb[2] {
		t.Fatalf("no square viewBox in %.120s", s)
	}
	n, _ := strconv.Atoi(vb[1])
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	d := svgPath.FindStringSubmatch(s)
	if d == nil || svgRun.ReplaceAllString(d[1], "") != "" {
		t.Fatalf("no path, or a path of more than runs of modules: %.120s", s)
	}
	for _, r := range svgRun.FindAllStringSubmatch(d[1], -1) {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		if x < quietZone || y < quietZone || x+w > n-quietZone || y >= n-quietZone {
			t.Fatalf("a dark run at (%d,%d) width %d lies in the quiet zone of a %d-module drawing", x, y, w, n)
		}
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+w)*scale; px++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	return img, n
}

func ExampleNewQR() {
	q, _ := NewQR("http://127.0.0.1:8080/?certificate_number=1000142020123456", "证书二维码")
	fmt.Println(q.Link, strings.HasPrefix(string(q.SVG), "<svg"))
	// Output: http://127.0.0.1:8080/?certificate_number=1000142020123456 true
}
