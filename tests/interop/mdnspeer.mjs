// A js-libp2p peer with @libp2p/mdns for the w2wesher mDNS interop test.
//
//   node mdnspeer.mjs --swarm-key FILE --listen MA [--interval MS] [--topic T]... [--dial]
//
// Prints one JSON line per event on stdout:
//   {"event":"listening","peer":ID,"addrs":[MA...]}
//   {"event":"discovered","peer":ID,"addrs":[MA...]}   (every mDNS discovery)
// With --topic (gossipsub + identify, subscribed to each topic) also
//   {"event":"connected","peer":ID,"addr":MA,"direction":D}
//   {"event":"message","from":ID,"topic":T,"dataHex":H}
// and with --dial it dials every peer it discovers (js-libp2p 2.x does not
// dial discovered peers by itself).
// and exits when stdin closes. The peer runs the real @libp2p/mdns service
// (multicast-dns on 224.0.0.251:5353), so it answers our queries with its
// records and reports the records it found in our answers.
import './polyfill.mjs'
import { readFileSync } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { msgIdFromSeqno } from './msgid.mjs'

const o = { listen: [], swarmKey: null, interval: 1000, topic: [], dial: false }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const v = () => argv[++i]
  if (a === '--listen') o.listen.push(v())
  else if (a === '--swarm-key') o.swarmKey = v()
  else if (a === '--interval') o.interval = Number(v())
  else if (a === '--topic') o.topic.push(v())
  else if (a === '--dial') o.dial = true
  else throw new Error(`unknown argument ${a}`)
}
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const node = await createLibp2p({
  addresses: { listen: o.listen },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionProtector: o.swarmKey ? preSharedKey({ psk: readFileSync(o.swarmKey) }) : undefined,
  peerDiscovery: [mdns({ interval: o.interval })],
  services: o.topic.length
    ? {
        identify: identify(),
        // msgIdFn: go's DefaultMsgIdFn (from || seqno), what our nodes use (peer.mjs --msgid go)
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          msgIdFn: msgIdFromSeqno
        })
      }
    : {}
})
node.addEventListener('peer:discovery', (e) => {
  out({ event: 'discovered', peer: e.detail.id.toString(), addrs: e.detail.multiaddrs.map(String) })
  if (o.dial) {
    node.dial(e.detail.id, { signal: AbortSignal.timeout(10000) })
      .catch((err) => out({ event: 'dial-error', peer: e.detail.id.toString(), error: String(err) }))
  }
})
if (o.topic.length) {
  node.addEventListener('connection:open', (e) => {
    const c = e.detail
    out({ event: 'connected', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction })
  })
  node.services.pubsub.addEventListener('message', (e) => {
    const m = e.detail
    out({ event: 'message', from: m.type === 'signed' ? m.from.toString() : null, topic: m.topic, dataHex: Buffer.from(m.data).toString('hex') })
  })
  for (const t of o.topic) node.services.pubsub.subscribe(t)
}
out({ event: 'listening', peer: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
process.stdin.resume()
process.stdin.on('end', async () => { await node.stop(); process.exit(0) })
