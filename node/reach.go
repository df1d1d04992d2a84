package node

import (
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/multiformats/go-multiaddr"
)

// siteLookupAgain is when a node looks for the other sites a second time
// after gaining a relayed address: a node at another site may have gained
// its own at the same moment, and reached the relay's address book a moment
// after this node's first look.
const siteLookupAgain = 15 * time.Second

// meetOtherSites makes a node behind a NAT meet the nodes of other sites. A
// node there is reachable only at a relayed address, which exists once the
// relay holds a slot for it; nothing dials it by itself. So whenever this
// node gains a relayed address of its own, it refreshes its DHT routing
// table: the lookup asks the relay for the peers nearest to this node, and
// dials those at other sites through the relay, at the relayed addresses the
// relay has for them. Runs until Close; started only with --relay.
func (n *Node) meetOtherSites() error {
	sub, err := n.host.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
	if err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer sub.Close()
		relayed := false
		again := time.NewTimer(0)
		<-again.C
		defer again.Stop()
		for {
			select {
			case <-n.ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				now := slices.ContainsFunc(e.(event.EvtLocalAddressesUpdated).Current, isRelayed)
				if now && !relayed {
					n.log.Info("reachable through a relay; looking for the other sites' nodes")
					n.dht.RefreshRoutingTable()
					again.Reset(siteLookupAgain)
				}
				relayed = now
			case <-again.C:
				n.dht.RefreshRoutingTable()
			}
		}
	}()
	return nil
}

func isRelayed(ua event.UpdatedAddress) bool {
	_, err := ua.Address.ValueForProtocol(multiaddr.P_CIRCUIT)
	return err == nil
}
