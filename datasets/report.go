package datasets

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"

	"github.com/degreegate/degreegate/anonymizer"
)

// WriteReport writes a dataset's report.html: a self-contained page (no
// scripts, no outside resources) for the approving officials and the
// contractor, with an inline SVG chart of the equivalence-class sizes,
// the generalisation level used per column, and the privacy and loss
// figures of the manifest.
func WriteReport(w io.Writer, m *Manifest) error {
	return reportTemplate.Execute(w, reportData{M: m, Chart: classChart(m.ClassHistogram)})
}

type reportData struct {
	M     *Manifest
	Chart chart
}

// chart is the class-size histogram laid out for SVG: one bar per
// bucket, its height the share of released rows in classes of that size.
type chart struct {
	Width, Height int
	Bars          []bar
}

type bar struct {
	X, Y, W, H   float64
	Label, Value string
	LabelX       float64
}

const (
	chartW, chartH     = 640, 240
	chartTop, chartBot = 20, 40
)

func classChart(h []anonymizer.Bucket) chart {
	c := chart{Width: chartW, Height: chartH}
	if len(h) == 0 {
		return c
	}
	var total, most int64
	for _, b := range h {
		total += b.Rows
		most = max(most, b.Rows)
	}
	slot := float64(chartW) / float64(len(h))
	plot := float64(chartH - chartTop - chartBot)
	for i, b := range h {
		share := 0.0
		if total > 0 {
			share = float64(b.Rows) / float64(total)
		}
		// The tallest bar fills the plot; the labels give the shares.
		hgt := math.Max(float64(b.Rows)/float64(max(most, 1))*plot, 1)
		label := strconv.FormatInt(b.Min, 10) + "+"
		if b.Max > b.Min {
			label = fmt.Sprintf("%d–%d", b.Min, b.Max)
		} else if b.Max == b.Min && b.Max != 0 {
			label = strconv.FormatInt(b.Min, 10)
		}
		c.Bars = append(c.Bars, bar{
			X: float64(i)*slot + slot*0.15, W: slot * 0.7, Y: float64(chartTop) + plot - hgt, H: hgt,
			Label: label, LabelX: float64(i)*slot + slot/2,
			Value: fmt.Sprintf("%d classes, %.1f%%", b.Classes, 100*share),
		})
	}
	return c
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) },
	"num":  func(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) },
	"base": func() int { return chartH - chartBot },
}).Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>Dataset {{.M.Dataset}} — 数据集报告</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f3f3}.n{text-align:right;font-variant-numeric:tabular-nums}
svg text{font-size:11px;fill:#333}
</style>
</head>
<body>
<h1>研究数据集报告 / Research dataset report</h1>
<p>Dataset <code>{{.M.Dataset}}</code> for <strong>{{.M.Contractor}}</strong>, purpose <code>{{.M.Purpose}}</code> ({{.M.LegalBasis}}),
policy <code>{{.M.PolicyVersion}}</code>. Requested by {{.M.RequestedBy}}, approved by {{.M.ApprovedBy}}.
Created {{.M.Created.Format "2006-01-02 15:04 MST"}}; <strong>expires {{.M.Expires.Format "2006-01-02 15:04 MST"}}</strong>, after which the files are deleted.
The data may be used only for the stated purpose, never commercially (Art. 24), and neither the data nor results may be published without the office's consent (Art. 23).</p>

<h2>Privacy / 隐私保护</h2>
<table>
<tr><th>required k (people per class)</th><td class="n">{{.M.Spec.K}}</td><th>achieved k</th><td class="n">{{.M.AchievedK}}</td></tr>
{{if .M.Spec.Sensitive}}<tr><th>l-diversity of {{.M.Spec.Sensitive}}</th><td class="n">{{.M.Spec.L}}</td><th>achieved l</th><td class="n">{{num .M.AchievedL}}</td></tr>{{end}}
<tr><th>rows in</th><td class="n">{{.M.RowsIn}}</td><th>rows out</th><td class="n">{{.M.RowsOut}}</td></tr>
<tr><th>suppressed rows</th><td class="n">{{.M.Suppressed}}</td><th>bound</th><td class="n">{{pct .M.Spec.MaxSuppression}}</td></tr>
<tr><th>people</th><td class="n">{{.M.People}}</td><th>classes</th><td class="n">{{.M.Classes}}</td></tr>
<tr><th>prosecutor risk, max</th><td class="n">{{pct .M.Risk.ProsecutorMax}}</td><th>average</th><td class="n">{{pct .M.Risk.ProsecutorAverage}}</td></tr>
<tr><th>rows in classes under {{.M.Risk.SmallClassSize}} people</th><td class="n">{{pct .M.Risk.SmallClassShare}}</td><th>classified theses blanked</th><td class="n">{{.M.ClassifiedBlanked}}</td></tr>
</table>

<h2>Equivalence-class sizes / 等价类规模</h2>
<svg width="{{.Chart.Width}}" height="{{.Chart.Height}}" viewBox="0 0 {{.Chart.Width}} {{.Chart.Height}}" role="img" aria-label="share of released rows by class size">
<line x1="0" y1="{{base}}" x2="{{.Chart.Width}}" y2="{{base}}" stroke="#999"/>
{{range .Chart.Bars}}<g><title>{{.Label}} people: {{.Value}}</title>
<rect x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .H}}" fill="#3b6ea5"/>
<text x="{{printf "%.1f" .LabelX}}" y="{{base}}" dy="14" text-anchor="middle">{{.Label}}</text>
<text x="{{printf "%.1f" .LabelX}}" y="{{printf "%.1f" .Y}}" dy="-4" text-anchor="middle">{{.Value}}</text></g>
{{end}}</svg>
<p>Bars: share of released rows in classes of that many people.</p>

<h2>Columns and generalisation / 字段与泛化层级</h2>
<table>
<tr><th>column</th><th>role</th><th>hierarchy</th><th>level used</th><th>levels</th></tr>
{{range .M.Columns}}<tr><td><code>{{.Name}}</code></td><td>{{.Role}}</td><td>{{.Hierarchy}}</td>
<td>{{if .Hierarchy}}{{if ge .Level 0}}{{.Level}} ({{.LevelName}}){{else}}per class (Mondrian): rows per level {{.LevelRows}}{{end}}{{else}}kept{{end}}</td>
<td>{{range $i, $l := .Levels}}{{if $i}} → {{end}}{{$l}}{{end}}</td></tr>
{{end}}</table>

<h2>Information loss / 信息损失</h2>
<p>{{.M.Loss.Measure}}: <strong>{{num .M.Loss.NCP}}</strong> (generalisation only {{num .M.Loss.Generalisation}});
discernibility {{num .M.Loss.Discernibility}} (normalised {{num .M.Loss.DiscernibilityNormalised}}).</p>

<h2>Files / 文件</h2>
<table>
<tr><th>file</th><th>rows</th><th>bytes</th><th>SHA-256</th></tr>
{{range .M.Files}}<tr><td><code>{{.Path}}</code></td><td class="n">{{.Rows}}</td><td class="n">{{.Bytes}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>
<p>{{.M.Fingerprint}}.</p>
</body>
</html>
`))
