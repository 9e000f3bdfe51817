package central_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
)

// A report delivered to the simulated central system, delivered again
// (as after a lost answer), and looked up by its voucher.
func Example() {
	sim := central.NewSim(central.SimConfig{})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	c, err := central.NewClient(central.ClientConfig{BaseURL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	op := central.Operation{
		IdempotencyKey: "kiosk-7/000001",
		KioskID:        "kiosk-7",
		Kind:           "report_loss",
		Voucher:        "K7Q2-9XH4",
		CreatedAt:      time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Subject:        json.RawMessage(`{"id_number":"110101199003071234"}`),
	}
	ack, _ := c.Submit(ctx, op)
	again, _ := c.Submit(ctx, op) // same key: the first answer again
	v, _ := c.Voucher(ctx, op.Voucher)
	fmt.Println(ack.CentralRef, ack.State, again == ack)
	fmt.Println(v.Kind, v.State)
	fmt.Println("applied", sim.Applied()[0].Count, "time")
	// Output:
	// C0000000001 accepted true
	// report_loss accepted
	// applied 1 time
}
