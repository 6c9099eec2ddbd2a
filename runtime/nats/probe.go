package nats

import (
	"errors"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// A node is announced (by the master or etcd) before, or while, its link
// backend subscribes to its subject, and NATS drops what is published to a
// subject nobody subscribes to. So the first frames to a node that just
// came up are held, not published, until its subscription answers a probe:
// an empty request on its subject, which receive answers. NATS reports "no
// responders" at once while nobody subscribes, so the probe repeats (1 ms,
// doubling, at most probeMaxWait apart) until the node answers. Held frames
// count against QueueBytes like any others.

// probeTimeout bounds one probe; probeMaxWait the pause between probes;
// probeGiveUp the whole: after it the frames go out unconfirmed (and are
// lost if nobody listens), so a node that never subscribes costs a bounded
// queue, not a stuck one.
const (
	probeTimeout = 250 * time.Millisecond
	probeMaxWait = 100 * time.Millisecond
	probeGiveUp  = 10 * time.Second
)

// probe starts confirming p's subscription (once at a time).
func (l *Links) probe(p *peer) {
	p.mu.Lock()
	start := !p.probing
	p.probing, p.confirmed = true, false
	p.mu.Unlock()
	if !start {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.stop:
		return
	default:
	}
	l.probes.Add(1)
	go l.confirmLoop(p) // joined in Close
}

func (l *Links) confirmLoop(p *peer) {
	defer l.probes.Done()
	wait, deadline := time.Millisecond, time.Now().Add(probeGiveUp)
	for {
		nc := l.conn()
		if nc != nil && nc.IsConnected() {
			_, err := nc.Request(p.subj, nil, probeTimeout)
			if err == nil {
				p.confirm()
				return
			}
			if !errors.Is(err, natsgo.ErrNoResponders) {
				l.log.V(1).Info("Probing a node's subscription", "subject", p.subj, "err", err.Error())
			}
		}
		if time.Now().After(deadline) {
			l.log.Info("No subscriber on a node's subject; sending its frames unconfirmed", "subject", p.subj, "after", probeGiveUp)
			p.confirm()
			return
		}
		select {
		case <-l.stop:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, probeMaxWait)
	}
}

// confirm lets p's frames go out, the ones held first.
func (p *peer) confirm() {
	p.mu.Lock()
	p.confirmed, p.probing = true, false
	pending := len(p.buf) > 0 && !p.queued
	if pending {
		p.queued = true
	}
	p.mu.Unlock()
	if pending {
		p.l.schedule(p)
	}
}
