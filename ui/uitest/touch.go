package uitest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Tap touches the centre of the element sel selects with one finger, as
// the touch screen does: a touchstart and a touchend dispatched through
// Chromium's input pipeline (pointer events, touch events and, unless the
// page cancels it, the tap's click).
func Tap(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(TouchDown(sel), TouchUp())
}

// Slide puts one finger down on the centre of the element from selects,
// moves it over the centre of the element to selects and lifts it.
func Slide(from, to string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(TouchDown(from), touchOver(input.DispatchTouchEventTypeTouchMove, to), TouchUp())
}

// TouchDown puts one finger down on the centre of the element sel selects.
func TouchDown(sel string) chromedp.Action[chromedp.Void] {
	return touchOver(input.DispatchTouchEventTypeTouchStart, sel)
}

// TouchUp lifts the finger.
func TouchUp() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, touch(ctx, t, input.DispatchTouchEventTypeTouchEnd, nil)
	}
}

// touchOver dispatches a touch event of type typ with the finger over the
// centre of the element sel selects.
func touchOver(typ input.DispatchTouchEventType, sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		at, err := centre(ctx, t, sel)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, touch(ctx, t, typ, at)
	}
}

// centre waits for sel to be visible and gives its centre.
func centre(ctx context.Context, t *chromedp.Target, sel string) (*input.TouchPoint, error) {
	if _, err := chromedp.WaitVisible(chromedp.CSS(sel))(ctx, t); err != nil {
		return nil, err
	}
	js := fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, sel)
	xy, err := chromedp.Evaluate[[]float64](js)(ctx, t)
	if err != nil {
		return nil, err
	}
	return &input.TouchPoint{X: xy[0], Y: xy[1]}, nil
}

// touch dispatches one touch event with the finger at p (none: lifted).
func touch(ctx context.Context, t *chromedp.Target, typ input.DispatchTouchEventType, p *input.TouchPoint) error {
	points := []*input.TouchPoint{}
	if p != nil {
		points = append(points, p)
	}
	_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: points})
	return err
}
