package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestKeptPhotosAreErasedWithTheFaces runs enroll with --keep-photos and
// checks that every way face data leaves — an erase on request, a revoke,
// the purge of ended tickets after the retention period — takes the photo
// with the descriptors, and that --erase-on-revoke=false and a retention
// period keep both until their time.
func TestKeptPhotosAreErasedWithTheFaces(t *testing.T) {
	ctx := context.Background()
	today := rules.Site{}.Day(time.Now())
	end := rules.Site{}.StartOfDay(today.AddDays(1)) // the ticket's first instant no longer valid
	const retention = 72 * time.Hour
	tests := []struct {
		name string
		tune func(*service.Config)
		// act does what should erase the photo; before, when set, does
		// what should not yet.
		before, act func(t *testing.T, svc *service.Service, id string) store.Ticket
	}{
		{"erase on request", nil, nil, func(t *testing.T, svc *service.Service, id string) store.Ticket {
			tk, err := svc.EraseBiometrics(ctx, service.System("test"), id, "visitor asked")
			if err != nil {
				t.Fatal(err)
			}
			if tk.ErasedAt.IsZero() {
				t.Error("the erased ticket has no erase time")
			}
			return tk.Ticket
		}},
		{"revoke (--erase-on-revoke, the default)", nil, nil, func(t *testing.T, svc *service.Service, id string) store.Ticket {
			tk, err := svc.Revoke(ctx, service.System("test"), id, "refund")
			if err != nil {
				t.Fatal(err)
			}
			return tk.Ticket
		}},
		{"revoke with --erase-on-revoke=false, then erase",
			func(c *service.Config) { c.EraseOnRevoke = false },
			func(t *testing.T, svc *service.Service, id string) store.Ticket {
				tk, err := svc.Revoke(ctx, service.System("test"), id, "refund")
				if err != nil {
					t.Fatal(err)
				}
				if !tk.Revoked {
					t.Error("the ticket was not revoked")
				}
				return tk.Ticket
			},
			func(t *testing.T, svc *service.Service, id string) store.Ticket {
				tk, err := svc.EraseBiometrics(ctx, service.System("test"), id, "visitor asked")
				if err != nil {
					t.Fatal(err)
				}
				return tk.Ticket
			}},
		{"purge with --retention 0, the default", nil, nil, func(t *testing.T, svc *service.Service, id string) store.Ticket {
			return purgeAt(t, svc, id, end, 1)
		}},
		{"purge with --retention 72h",
			func(c *service.Config) { c.Retention = retention },
			func(t *testing.T, svc *service.Service, id string) store.Ticket {
				// The ticket ended, but its retention period has not.
				return purgeAt(t, svc, id, end.Add(retention-time.Minute), 0)
			},
			func(t *testing.T, svc *service.Service, id string) store.Ticket {
				tk := purgeAt(t, svc, id, end.Add(retention), 1)
				if tk.PurgedAt.IsZero() {
					t.Error("the purged ticket has no purge time")
				}
				return tk
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, st := newService(t, func(c *service.Config) {
				c.KeepPhotos = true
				if tc.tune != nil {
					tc.tune(c)
				}
			})
			res, err := svc.CreateOrder(ctx, service.System("test"), service.OrderRequest{OrderID: "o-1", Consent: true,
				Visitors: []service.VisitorRequest{{Name: "游客", TicketType: "single", ValidFrom: today.String(),
					Photos: [][]byte{testenv.Photo(t, "obama.jpg"), testenv.Photo(t, "obama2.jpg")}}}})
			if err != nil {
				t.Fatal(err)
			}
			tk := res.Tickets[0]
			if len(tk.Faces) != 2 {
				t.Fatalf("created with %d faces; want 2", len(tk.Faces))
			}
			for _, f := range tk.Faces {
				if _, err := st.Photo(ctx, f.ID); err != nil {
					t.Fatalf("photo of face %s not kept: %v", f.ID, err)
				}
			}
			if tc.before != nil {
				got := tc.before(t, svc, tk.ID)
				if len(got.Faces) != 2 {
					t.Errorf("before its time: %d faces left; want both", len(got.Faces))
				}
				for _, f := range tk.Faces {
					if _, err := st.Photo(ctx, f.ID); err != nil {
						t.Errorf("before its time: photo of face %s gone: %v", f.ID, err)
					}
				}
			}
			got := tc.act(t, svc, tk.ID)
			if len(got.Faces) != 0 {
				t.Errorf("%d faces left; want none", len(got.Faces))
			}
			for _, f := range tk.Faces {
				if p, err := st.Photo(ctx, f.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("photo of face %s: %d bytes, %v; want it erased (store.ErrNotFound)", f.ID, len(p.Data), err)
				}
			}
		})
	}
}

// purgeAt runs the purge job as if it were at, expects it to purge want
// tickets and returns ticket id as it is afterwards.
func purgeAt(t *testing.T, svc *service.Service, id string, at time.Time, want int) store.Ticket {
	t.Helper()
	svc.SetClock(func() time.Time { return at })
	defer svc.SetClock(time.Now)
	n, err := svc.PurgeEnded(context.Background())
	if err != nil || n != want {
		t.Fatalf("PurgeEnded at %v = %d, %v; want %d", at, n, err, want)
	}
	tk, err := svc.Ticket(context.Background(), service.System("test"), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Ticket
}
