// A js-libp2p gossipsub node for tests/bench/bench_gossipsub.py, speaking the
// same lines as `w2wesher p2p listen --topic NAME` so both are driven alike.
//
//   node gsbench.mjs --swarm-key FILE --listen MA --topic NAME [--msgid go|js]
//
// stdout, one JSON line each: {"event":"listening","peerId":..,"addrs":[..]},
//   connected / disconnected {"peer":..}, dial_failed {"addr":..,"reason":..},
//   {"event":"message","from":..,"topic":..,"dataHex":..,"seqno":..,"rxNs":..}
//   (rxNs: process.hrtime at delivery = CLOCK_MONOTONIC on Linux, as Python's
//   time.monotonic_ns(); a diagnostic for the harness's own read delay).
// stdin lines: "/dial MA" dials; "/quit" stops; any other line is published on
//   the topic ("hex:..." hex-decoded first), one publish after the other.
//
// Configured like tests/interop/peer.mjs (trusted local test, many peers on
// 127.0.0.1): inbound connection rate limit raised, IP-colocation penalty off,
// go's from||seqno message IDs unless --msgid js. Everything else is js's
// gossipsub 14.x default (D 6, heartbeat 1 s, flood publish, IDONTWANT
// between js peers).
import './polyfill.mjs'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { msgIdFromSeqno, msgIdKeySeqno } from './msgid.mjs'

const opt = { listen: [], topic: null, msgid: 'go', swarmKey: null }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
  const v = argv[++i]
  if (a === '--listen') opt.listen.push(v)
  else if (a === '--topic') opt.topic = v
  else if (a === '--swarm-key') opt.swarmKey = v
  else if (a === '--msgid') opt.msgid = v
  else throw new Error(`unknown argument ${a}`)
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

async function main () {
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: opt.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: opt.swarmKey ? preSharedKey({ psk: readFileSync(opt.swarmKey) }) : undefined,
    connectionManager: { inboundConnectionThreshold: 10000, maxIncomingPendingConnections: 1000, maxConnections: 1000 },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        msgIdFn: opt.msgid === 'js' ? msgIdKeySeqno : msgIdFromSeqno,
        scoreParams: { IPColocationFactorWeight: 0 }
      })
    }
  })
  node.addEventListener('connection:open', (e) => out({ event: 'connected', peer: e.detail.remotePeer.toString() }))
  node.addEventListener('connection:close', (e) => out({ event: 'disconnected', peer: e.detail.remotePeer.toString() }))
  const pubsub = node.services.pubsub
  pubsub.addEventListener('message', (e) => {
    const m = e.detail
    const rxNs = process.hrtime.bigint().toString()
    out({
      event: 'message',
      from: m.type === 'signed' ? m.from.toString() : null,
      topic: m.topic,
      dataHex: Buffer.from(m.data).toString('hex'),
      seqno: m.type === 'signed' ? m.sequenceNumber.toString() : null,
      rxNs
    })
  })
  if (opt.topic) pubsub.subscribe(opt.topic)
  out({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })

  const stop = async () => { await node.stop(); process.exit(0) }
  let chain = Promise.resolve()
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.startsWith('/dial ')) {
      const a = line.slice(6).trim()
      node.dial(multiaddr(a), { signal: AbortSignal.timeout(10000) })
        .catch((err) => out({ event: 'dial_failed', addr: a, reason: String(err?.message ?? err) }))
      return
    }
    if (line === '/quit') { stop(); return }
    if (!opt.topic) return
    const data = line.startsWith('hex:') ? Buffer.from(line.slice(4), 'hex') : Buffer.from(line)
    chain = chain.then(() => pubsub.publish(opt.topic, data))
      .catch((err) => out({ event: 'publish_failed', reason: String(err?.message ?? err) }))
  })
  // Like the C CLI: stdin EOF does not stop the node; SIGTERM/SIGINT do.
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => { out({ event: 'fatal', error: String(err?.stack ?? err) }); process.exit(1) })
