package maint

import (
	"context"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// Do runs the call of a RunCall effect and returns its Answer, for
// Next(Intent{Kind: Answered}). It is the menu's only I/O; the session runs
// it off its loop with a deadline.
func Do(ctx context.Context, a Actions, e Effect) Answer {
	ans := Answer{Seq: e.Seq, Call: e.Call, Screen: e.Screen, Slot: e.Slot}
	switch e.Call {
	case CallLogin:
		ans.Login, ans.Err = a.Login(ctx, e.PIN)
	case CallLoad:
		ans.Data, ans.Err = load(ctx, a, e.Screen, e.Now)
	case CallRetry:
		ans.Err = a.Retry(ctx, e.Who, e.Arg)
	case CallReprint:
		ans.Err = a.Reprint(ctx, e.Who, e.Arg)
	case CallTestPrint:
		ans.Err = a.TestPrint(ctx, e.Who)
	case CallReaderTest:
		ans.ReaderTest, ans.Err = a.ReaderTest(ctx, e.Who, e.Slot)
	default:
		ans.Err = fmt.Errorf("maintenance call %q: no such call", e.Call)
	}
	return ans
}

// load is the data a screen shows (ui/PROTOCOL.md, "Screens").
func load(ctx context.Context, a Actions, screen Screen, now time.Time) (map[string]any, error) {
	switch screen {
	case ScreenHome: // the SLA alert shows on the menu's first screen
		q, err := a.Queue(ctx)
		return map[string]any{"sla_breached": q.SLABreached}, err
	case ScreenDevices:
		d, err := a.Devices(ctx)
		return map[string]any{"readers": d.Readers, "printer": d.Printer}, err
	case ScreenQueue:
		q, err := a.Queue(ctx)
		return queueData(q, now), err
	case ScreenLog:
		l, err := a.Log(ctx)
		d := map[string]any{"lines": l}
		if err != nil {
			return d, err
		}
		c, err := a.AuditChain(ctx)
		if err != nil {
			return d, err
		}
		d["audit"] = map[string]any{"intact": c.Intact, "entries": c.Entries, "seq": c.BreakSeq, "reason": c.Reason}
		return d, nil
	case ScreenConfig:
		c, err := a.Settings(ctx)
		return map[string]any{"settings": c}, err
	case ScreenAbout:
		ab, err := a.About(ctx)
		return map[string]any{"rows": []ui.Row{
			{Label: "maint.about.kiosk_id", Value: ab.KioskID},
			{Label: "maint.about.version", Value: ab.Version},
			{Label: "maint.about.commit", Value: ab.Commit},
			{Label: "maint.about.go", Value: ab.GoVersion},
			{Label: "maint.about.uptime", Value: ab.Uptime.Truncate(time.Second).String()},
		}}, err
	}
	return nil, fmt.Errorf("maintenance screen %q: nothing to load", screen)
}

func queueData(q Queue, now time.Time) map[string]any {
	age := ""
	if !q.OldestPending.IsZero() {
		age = now.Sub(q.OldestPending).Truncate(time.Second).String()
	}
	sla := "maint.no"
	if q.SLABreached {
		sla = "maint.yes"
	}
	type op struct {
		Key      string `json:"key"`
		Voucher  string `json:"voucher"`
		Kind     string `json:"kind"`
		State    string `json:"state"`
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
		Next     string `json:"next,omitempty"`
	}
	ops := []op{}
	for _, o := range q.Ops {
		x := op{Key: o.Key, Voucher: voucher.Format(o.Voucher), Kind: "menu." + o.Kind, State: o.State, Reason: o.Reason, Attempts: o.Attempts}
		if !o.NextAttempt.IsZero() {
			x.Next = o.NextAttempt.Sub(now).Truncate(time.Second).String()
		}
		ops = append(ops, x)
	}
	type receipt struct {
		Voucher  string   `json:"voucher"`
		Error    string   `json:"error,omitempty"`
		Problem  []string `json:"problem,omitempty"`
		Attempts int      `json:"attempts"`
	}
	unprinted := []receipt{}
	for _, r := range q.Unprinted {
		unprinted = append(unprinted, receipt{Voucher: voucher.Format(r.Voucher), Error: r.LastError, Problem: r.Problems, Attempts: r.Attempts})
	}
	return map[string]any{
		"unprinted": unprinted,
		"rows": []ui.Row{
			{Label: "maint.queue.pending", Value: fmt.Sprint(q.Pending)},
			{Label: "maint.queue.oldest", Value: age},
			{Label: "maint.queue.rejected", Value: fmt.Sprint(q.Rejected)},
			{Label: "maint.queue.sla", Value: sla, T: true},
		},
		"sla_breached": q.SLABreached,
		"ops":          ops,
	}
}
