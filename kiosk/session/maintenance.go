package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/ui"
)

// The technician's maintenance menu. `start {flow:"maintenance"}` (the
// page's hidden gesture) puts the flow on flow.StepMaintenance; while it is
// there the session forwards the page's intents, device events and ticks
// to the menu's state machine (maint.Next) and performs its effects: calls
// to maint.Actions off the Run goroutine, whose answers come back as
// intents, the logout, leaving the menu, the screen. The lockout lives
// behind maint.Actions (maint.Guard, in the daemon), so leaving the menu
// does not reset the count of wrong PINs, and every action is audited
// there (maint.Audited).

// inMaintenance says whether the menu is open.
func (s *Session) inMaintenance() bool {
	return s.deps.Maintenance != nil && s.state.Step == flow.StepMaintenance
}

// menuNext gives the menu one intent and performs its effects; an error is
// a *ui.Error for the page.
func (s *Session) menuNext(ctx context.Context, wg *sync.WaitGroup, in maint.Intent) error {
	if in.Now.IsZero() {
		in.Now = s.clock.Now()
	}
	next, effs, err := maint.Next(s.menu, in)
	if err != nil {
		var r *maint.Refusal
		if errors.As(err, &r) {
			return &ui.Error{Code: r.Code, Message: r.Message}
		}
		return &ui.Error{Code: ui.CodeInternal, Message: "something went wrong"}
	}
	s.menu = next
	s.menuEffects(ctx, wg, effs)
	return nil
}

func (s *Session) menuEffects(ctx context.Context, wg *sync.WaitGroup, effs []maint.Effect) {
	for _, e := range effs {
		switch e.Kind {
		case maint.RunCall:
			s.menuCall(ctx, wg, e)
		case maint.Logout:
			actions := s.deps.Maintenance
			s.menuGo(ctx, wg, func(ctx context.Context) {
				if err := actions.Logout(ctx, e.Who, e.Why); err != nil {
					s.log.Error("maintenance logout not audited", "err", err)
				}
			})
		case maint.Exit:
			if err := s.step(ctx, wg, flow.Intent{Kind: flow.Cancel}); err != nil {
				s.log.Error("leaving maintenance", "err", err)
			}
			s.log.Info("maintenance menu closed", "why", e.Why)
		case maint.Render:
			s.render()
		case maint.Log:
			s.log.Log(ctx, e.Level, e.Msg, e.Args...)
		}
	}
}

// menuPage forwards a page intent to the menu.
func (s *Session) menuPage(ctx context.Context, wg *sync.WaitGroup, in ui.Intent) error {
	mi := maint.Intent{Kind: maint.Unknown}
	switch in.Type {
	case ui.TypeCancel:
		mi.Kind = maint.Cancel
	case ui.TypeBack:
		mi.Kind = maint.Back
	case ui.TypeStart:
		mi.Kind = maint.Start
	case ui.TypeConfirm:
		mi.Kind = maint.Confirm
	case ui.TypeInput:
		mi = maint.Intent{Kind: maint.Input, Field: in.Field, Value: in.Value}
	}
	return s.menuNext(ctx, wg, mi)
}

// menuEnter opens the menu: PIN entry, the lock screen while locked, or
// how to add a technician when none is configured.
func (s *Session) menuEnter(ctx context.Context, wg *sync.WaitGroup) {
	a := s.deps.Maintenance
	in := maint.Intent{Kind: maint.Enter, NoTechnician: a.Technicians() == 0}
	if !in.NoTechnician {
		in.LockedUntil = a.LockedUntil()
	}
	if err := s.menuNext(ctx, wg, in); err != nil {
		s.log.Error("opening maintenance", "err", err)
	}
}

// menuDevice forwards a device event to the menu.
func (s *Session) menuDevice(ctx context.Context, wg *sync.WaitGroup, ev DeviceEvent) {
	in := maint.Intent{Kind: maint.DeviceChanged, Slot: ev.Slot}
	if ev.Kind == hwbridge.CardInserted {
		in.Kind = maint.CardInserted
	}
	if err := s.menuNext(ctx, wg, in); err != nil {
		s.log.Debug("device event not applied to the menu", "err", err)
	}
}

// menuTick logs an idle technician out, lifts an expired lock, and shows
// the countdown to the idle logout.
func (s *Session) menuTick(ctx context.Context, wg *sync.WaitGroup, now time.Time) {
	if now.Sub(s.lastActivity) >= s.deps.Maintenance.IdleTimeout() {
		if err := s.menuNext(ctx, wg, maint.Intent{Kind: maint.IdleTimeout, Now: now}); err != nil {
			s.log.Error("maintenance idle logout", "err", err)
		}
		return
	}
	next, effs, _ := maint.Next(s.menu, maint.Intent{Kind: maint.Tick, Now: now})
	s.menu = next
	if len(effs) > 0 {
		s.menuEffects(ctx, wg, effs)
		return
	}
	if n := s.countdown(now); n != s.shownCount {
		s.render()
	}
}

// menuGo runs f on its own goroutine with the call deadline; f touches no
// session field.
func (s *Session) menuGo(ctx context.Context, wg *sync.WaitGroup, f func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("maintenance call panicked", "panic", fmt.Sprintf("%T", p))
			}
		}()
		f(ctx)
	}()
}

// menuCall runs a call of the menu off the Run goroutine; its answer comes
// back on s.menuAnswers, unless the session ends first.
func (s *Session) menuCall(ctx context.Context, wg *sync.WaitGroup, e maint.Effect) {
	actions := s.deps.Maintenance
	wg.Add(1)
	go func() {
		defer wg.Done()
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
		ans := maint.Answer{Seq: e.Seq, Call: e.Call, Panicked: true}
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.log.Error("maintenance call panicked", "call", string(e.Call), "panic", fmt.Sprintf("%T", p))
				}
			}()
			ans = maint.Do(cctx, actions, e)
		}()
		select {
		case s.menuAnswers <- ans:
		case <-ctx.Done():
		}
	}()
}

// onMenuAnswer applies a call's answer, if the menu is still open.
func (s *Session) onMenuAnswer(ctx context.Context, wg *sync.WaitGroup, a maint.Answer) {
	if !s.inMaintenance() {
		return
	}
	if err := s.menuNext(ctx, wg, maint.Intent{Kind: maint.Answered, Answer: a}); err != nil {
		s.log.Error("maintenance answer not applied", "err", err)
	}
}
