package delivery

import (
	"sync"

	cm "github.com/promotedai/schema/generated/go/proto/common"
)

// shouldSendShadowTraffic samples only when a rate is set, so a client
// without a sampler and rate 0 never needs one.
func (c *PromotedDeliveryClient) shouldSendShadowTraffic() bool {
	if c.shadowTrafficDeliveryRate <= 0 {
		return false
	}
	sampler := c.sampler
	if sampler == nil {
		sampler = &DefaultSampler{}
	}
	return sampler.SampleRandom(c.shadowTrafficDeliveryRate)
}

// sendShadowTraffic sends a copy of the request to the Delivery API marked
// SHADOW and discards the answer. The copy is deep, so the mark never
// reaches the caller's request or the production log (Java's client once
// shared a builder here and marked real traffic as shadow).
func (c *PromotedDeliveryClient) sendShadowTraffic(dr *DeliveryRequest) {
	shadow := dr.Clone(NoMaxRequestInsertions)
	shadow.Request.ClientInfo = &cm.ClientInfo{
		ClientType:  cm.ClientInfo_PLATFORM_SERVER,
		TrafficType: cm.ClientInfo_SHADOW,
	}
	send := func() {
		if _, err := c.CallDeliveryAPI(nil, nil, shadow); err != nil {
			c.log().Warn("shadow traffic failed", "client_request_id", shadow.Request.GetClientRequestId(), "error", err)
		}
	}
	if c.blockingShadowTraffic {
		send()
		return
	}
	c.shadow.goOrRun(send)
}

// backgroundGroup runs functions on their own goroutines until it is
// closed, and inline afterwards, so close can wait for all of them.
type backgroundGroup struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (g *backgroundGroup) goOrRun(f func()) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		f()
		return
	}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		f()
	}()
}

func (g *backgroundGroup) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
