package console

import (
	"github.com/hookgate/hookgate/gateway/api"

	"fmt"
	"strconv"
	"strings"
)

// Charts are drawn here as numbers for an inline <svg> in the overview
// template: no charting library, no script, nothing but rectangles, a
// polyline and text. Every shape has a <title> (a tooltip and what a
// screen reader reads), and each chart has a text summary beside it.

// Chart geometry (SVG user units; the SVG scales to its container).
const (
	chartW, chartH = 600, 160
	padL, padB     = 56, 22
	padT           = 8
)

type chart struct {
	Title   string
	Summary string
	W, H    int
	Bars    []bar
	Lines   []line
	Legend  []legend
	YLabels []axisLabel
	XLabels []axisLabel
	Grid    []int // y of horizontal grid lines
	PlotX   int
	PlotW   int
	PlotB   int // y of the x axis
}

type bar struct {
	X, Y, W, H float64
	Class      string
	Tip        string
}

type line struct {
	Points string
	Class  string
	Dots   []dot
}

type dot struct {
	X, Y float64
	Tip  string
}

type legend struct {
	Class, Label string
}

type axisLabel struct {
	X, Y   float64
	Text   string
	Anchor string
}

// series is one stacked or drawn quantity per minute.
type series struct {
	Label string
	Class string
	V     []float64
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// frame fills a chart's axes for n minutes and a y range of 0..top.
func frame(title string, n int, top float64, unit string, minuteLabel func(i int) string) chart {
	c := chart{Title: title, W: chartW, H: chartH, PlotX: padL, PlotW: chartW - padL - 4, PlotB: chartH - padB}
	for i := 0; i <= 2; i++ {
		y := float64(c.PlotB) - float64(c.PlotB-padT)*float64(i)/2
		c.Grid = append(c.Grid, int(y))
		c.YLabels = append(c.YLabels, axisLabel{X: padL - 4, Y: y + 4, Text: fmtNum(top*float64(i)/2) + unit, Anchor: "end"})
	}
	if n > 0 {
		c.XLabels = []axisLabel{
			{X: padL, Y: chartH - 4, Text: minuteLabel(0), Anchor: "start"},
			{X: float64(padL + c.PlotW/2), Y: chartH - 4, Text: minuteLabel(n / 2), Anchor: "middle"},
			{X: float64(padL + c.PlotW), Y: chartH - 4, Text: minuteLabel(n - 1), Anchor: "end"},
		}
	}
	return c
}

// stacked draws per-minute stacked bars of the series.
func stacked(title, unit string, ss []series, labels []string) chart {
	n := len(labels)
	top := 0.0
	for i := 0; i < n; i++ {
		sum := 0.0
		for _, s := range ss {
			sum += s.V[i]
		}
		top = max(top, sum)
	}
	top = niceMax(top)
	c := frame(title, n, top, unit, func(i int) string { return labels[i] })
	if n == 0 {
		return c
	}
	slot := float64(c.PlotW) / float64(n)
	scale := float64(c.PlotB-padT) / top
	for i := 0; i < n; i++ {
		y := float64(c.PlotB)
		for _, s := range ss {
			v := s.V[i]
			if v <= 0 {
				continue
			}
			h := v * scale
			y -= h
			c.Bars = append(c.Bars, bar{
				X: float64(c.PlotX) + float64(i)*slot + slot*0.1, Y: y, W: slot * 0.8, H: h,
				Class: s.Class, Tip: fmt.Sprintf("%s: %s %s", labels[i], fmtNum(v), strings.ToLower(s.Label)),
			})
		}
	}
	for _, s := range ss {
		c.Legend = append(c.Legend, legend{Class: s.Class, Label: s.Label})
	}
	return c
}

// lines draws per-minute lines; minutes where has(i) is false are gaps.
func lines(title, unit string, ss []series, labels []string, has func(i int) bool) chart {
	n := len(labels)
	top := 0.0
	for _, s := range ss {
		for _, v := range s.V {
			top = max(top, v)
		}
	}
	top = niceMax(top)
	c := frame(title, n, top, unit, func(i int) string { return labels[i] })
	if n == 0 {
		return c
	}
	slot := float64(c.PlotW) / float64(n)
	scale := float64(c.PlotB-padT) / top
	for _, s := range ss {
		l := line{Class: s.Class}
		var pts []string
		for i, v := range s.V {
			if !has(i) {
				continue
			}
			x := float64(c.PlotX) + (float64(i)+0.5)*slot
			y := float64(c.PlotB) - v*scale
			pts = append(pts, strconv.FormatFloat(x, 'f', 1, 64)+","+strconv.FormatFloat(y, 'f', 1, 64))
			l.Dots = append(l.Dots, dot{X: x, Y: y, Tip: fmt.Sprintf("%s: %s %s%s", labels[i], strings.ToLower(s.Label), fmtNum(v), unit)})
		}
		l.Points = strings.Join(pts, " ")
		c.Lines = append(c.Lines, l)
		c.Legend = append(c.Legend, legend{Class: s.Class, Label: s.Label})
	}
	return c
}

// overviewCharts draws the last hour: Okta events accepted (and rejected)
// per minute, hook decisions per minute by outcome, and plugin call
// latency (mean and slowest call per minute).
func overviewCharts(ms []api.MinuteStats) []chart {
	n := len(ms)
	labels := make([]string, n)
	acc, rej := make([]float64, n), make([]float64, n)
	ok, fail, errs := make([]float64, n), make([]float64, n), make([]float64, n)
	mean, worst := make([]float64, n), make([]float64, n)
	var events, decisions, calls float64
	for i, m := range ms {
		labels[i] = m.Start.UTC().Format("15:04")
		acc[i], rej[i] = float64(m.EventsAccepted), float64(m.EventsRejected)
		ok[i], fail[i], errs[i] = float64(m.HookSuccess), float64(m.HookFailure), float64(m.HookError)
		mean[i], worst[i] = m.PluginMeanMs, m.PluginMaxMs
		events += acc[i]
		decisions += ok[i] + fail[i] + errs[i]
		calls += float64(m.PluginCalls)
	}
	ev := stacked("Okta events accepted per minute", "", []series{
		{Label: "Accepted", Class: "s-ok", V: acc}, {Label: "Rejected", Class: "s-bad", V: rej},
	}, labels)
	ev.Summary = fmtNum(events) + " events accepted in the last hour"
	hd := stacked("Hook decisions per minute", "", []series{
		{Label: "Success", Class: "s-ok", V: ok}, {Label: "Failure", Class: "s-warn", V: fail}, {Label: "Error", Class: "s-bad", V: errs},
	}, labels)
	hd.Summary = fmtNum(decisions) + " hook decisions in the last hour"
	lat := lines("Plugin call latency", " ms", []series{
		{Label: "Mean", Class: "l-mean", V: mean}, {Label: "Slowest", Class: "l-max", V: worst},
	}, labels, func(i int) bool { return ms[i].PluginCalls > 0 })
	lat.Summary = fmtNum(calls) + " plugin calls in the last hour"
	return []chart{ev, hd, lat}
}
