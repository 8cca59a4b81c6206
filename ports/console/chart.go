package console

import (
	"fmt"
	"math"
	"time"

	"ctjournal/app"
)

// chart is a stacked bar chart of leads per day by status, laid out here
// and drawn as inline SVG by the widget template: no script, no image
// request.
type chart struct {
	Width, Height float64
	Left, Bottom  float64 // the plot's left edge and baseline
	Right, Top    float64
	Bars          []bar
	YTicks        []tick
	XTicks        []tick
	Days          []app.DayCount // for the table beside the chart
	Total         int64
}

// bar is one status's part of one day's column.
type bar struct {
	X, Y, W, H float64
	Status     string
	Title      string
}

type tick struct {
	At    float64
	Label string
}

const (
	chartWidth  = 1000
	chartHeight = 260
	chartLeft   = 44
	chartRight  = 12
	chartTop    = 12
	chartBottom = 28
	// maxXTicks keeps the day labels apart.
	maxXTicks = 10
)

func drawChart(days []app.DayCount) chart {
	c := chart{
		Width: chartWidth, Height: chartHeight, Days: days,
		Left: chartLeft, Right: chartWidth - chartRight, Top: chartTop, Bottom: chartHeight - chartBottom,
	}
	if len(days) == 0 {
		return c
	}
	var highest int64
	for _, d := range days {
		var sum int64
		for _, n := range d.ByStatus {
			sum += n
		}
		highest = max(highest, sum)
		c.Total += sum
	}
	top := niceCeiling(highest)
	plotH := c.Bottom - c.Top
	slot := (c.Right - c.Left) / float64(len(days))
	width := max(1, slot*0.72)
	step := (len(days) + maxXTicks - 1) / maxXTicks
	for i, d := range days {
		x := c.Left + float64(i)*slot + (slot-width)/2
		y := c.Bottom
		for _, status := range app.LeadStatuses {
			n := d.ByStatus[status]
			if n == 0 {
				continue
			}
			h := float64(n) / float64(top) * plotH
			y -= h
			c.Bars = append(c.Bars, bar{X: round1(x), Y: round1(y), W: round1(width), H: round1(h), Status: status,
				Title: fmt.Sprintf("%s: %d %s", d.Day.Format(time.DateOnly), n, status)})
		}
		if i%step == 0 {
			c.XTicks = append(c.XTicks, tick{At: round1(x + width/2), Label: d.Day.Format("01-02")})
		}
	}
	for _, v := range []int64{0, top / 2, top} {
		if v == top/2 && top%2 != 0 {
			continue
		}
		c.YTicks = append(c.YTicks, tick{At: round1(c.Bottom - float64(v)/float64(top)*plotH), Label: fmt.Sprint(v)})
	}
	return c
}

// niceCeiling is the smallest of 1, 2, 5, 10, 20, 50… at or above n.
func niceCeiling(n int64) int64 {
	for scale := int64(1); ; scale *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*scale >= n {
				return m * scale
			}
		}
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
