// A js-libp2p peer with @libp2p/mdns for the w2wesher mDNS interop test.
//
//   node mdnspeer.mjs --swarm-key FILE --listen MA [--interval MS]
//
// Prints one JSON line per event on stdout:
//   {"event":"listening","peer":ID,"addrs":[MA...]}
//   {"event":"discovered","peer":ID,"addrs":[MA...]}   (every mDNS discovery)
// and exits when stdin closes. The peer runs the real @libp2p/mdns service
// (multicast-dns on 224.0.0.251:5353), so it answers our queries with its
// records and reports the records it found in our answers.
import './polyfill.mjs'
import { readFileSync } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mdns } from '@libp2p/mdns'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

const o = { listen: [], swarmKey: null, interval: 1000 }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const v = () => argv[++i]
  if (a === '--listen') o.listen.push(v())
  else if (a === '--swarm-key') o.swarmKey = v()
  else if (a === '--interval') o.interval = Number(v())
  else throw new Error(`unknown argument ${a}`)
}
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const node = await createLibp2p({
  addresses: { listen: o.listen },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionProtector: o.swarmKey ? preSharedKey({ psk: readFileSync(o.swarmKey) }) : undefined,
  peerDiscovery: [mdns({ interval: o.interval })]
})
node.addEventListener('peer:discovery', (e) => {
  out({ event: 'discovered', peer: e.detail.id.toString(), addrs: e.detail.multiaddrs.map(String) })
})
out({ event: 'listening', peer: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
process.stdin.resume()
process.stdin.on('end', async () => { await node.stop(); process.exit(0) })
