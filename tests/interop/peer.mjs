// A js-libp2p peer for w2wesher interop tests (libp2p 2.x on Node 20).
//
//   node peer.mjs --swarm-key FILE [--seed HEX32] [--listen MA]... [--dial MA]...
//                 [--topic NAME]... [--msgid go|js]
//
// Prints one JSON line per event on stdout (listening, connected,
// disconnected, identify, message, result, error) and reads one JSON command
// per line on stdin:
//   {"id":1,"cmd":"dial","addr":MA}            connect (and identify)
//   {"id":2,"cmd":"ping","addr":MA|"peer":ID,"count":N}
//   {"id":3,"cmd":"subscribe","topic":T}
//   {"id":4,"cmd":"publish","topic":T,"dataHex":H}
//   {"id":5,"cmd":"echo","peer":ID,"streams":20,"size":1048576}
//   {"id":9,"cmd":"bigrpc","peer":ID,"topic":T,"size":N,"count":K}  (also forge)
//   {"id":6,"cmd":"peers"}      {"id":7,"cmd":"hangup","peer":ID}
//   {"id":8,"cmd":"quit"}
// Every command answers {"event":"result","id":..,"ok":true|false,...}.
//
// Configured for trusted local tests with many peers on 127.0.0.1: the
// inbound connection rate limit is raised and the gossipsub IP-colocation
// penalty is off (js defaults: 5 inbound/s per IP, -5 x surplus^2 above 10).
import './polyfill.mjs'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, generateKeyPairFromSeed, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { msgIdFromSeqno, msgIdKeySeqno } from './msgid.mjs'

export const ECHO_PROTOCOL = '/w2w/echo/1.0.0'

function parseArgs (argv) {
  const o = { listen: [], dial: [], topic: [], msgid: 'go', swarmKey: null, seed: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--listen') o.listen.push(v())
    else if (a === '--dial') o.dial.push(v())
    else if (a === '--topic') o.topic.push(v())
    else if (a === '--swarm-key') o.swarmKey = v()
    else if (a === '--seed') o.seed = v()
    else if (a === '--msgid') o.msgid = v()
    else throw new Error(`unknown argument ${a}`)
  }
  return o
}

const hex = (u8) => Buffer.from(u8).toString('hex')
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')


async function echoHandler ({ stream }) {
  try {
    await stream.sink(stream.source)
  } catch (err) {
    stream.abort(err)
  }
}

// Writes `size` pseudo-random bytes on a new echo stream, reads them back,
// and compares SHA-256 of what was sent and what came back.
async function echoOne (node, peer, size, idx) {
  const stream = await node.dialProtocol(peer, ECHO_PROTOCOL, { signal: AbortSignal.timeout(60000) })
  const hSent = createHash('sha256')
  const hRecv = createHash('sha256')
  const chunk = 16384
  let seed = (idx + 1) * 2654435761
  const gen = async function * () {
    for (let off = 0; off < size; off += chunk) {
      const n = Math.min(chunk, size - off)
      const b = Buffer.alloc(n)
      for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; b[i] = seed >>> 24 }
      hSent.update(b)
      yield b
    }
  }
  let got = 0
  const reader = (async () => {
    for await (const buf of stream.source) {
      const b = buf.subarray()
      got += b.length
      hRecv.update(b)
    }
  })()
  await stream.sink(gen())
  await reader
  await stream.close()
  const a = hSent.digest('hex'); const b = hRecv.digest('hex')
  return { bytes: got, ok: got === size && a === b, sha256: b }
}

async function main () {
  const opt = parseArgs(process.argv.slice(2))
  const privateKey = opt.seed
    ? await generateKeyPairFromSeed('Ed25519', Buffer.from(opt.seed, 'hex'))
    : await generateKeyPair('Ed25519')
  const services = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      msgIdFn: opt.msgid === 'js' ? msgIdKeySeqno : msgIdFromSeqno,
      scoreParams: { IPColocationFactorWeight: 0 }
    })
  }
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: opt.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: opt.swarmKey ? preSharedKey({ psk: readFileSync(opt.swarmKey) }) : undefined,
    connectionManager: { inboundConnectionThreshold: 10000, maxIncomingPendingConnections: 1000, maxConnections: 1000 },
    services
  })
  await node.handle(ECHO_PROTOCOL, echoHandler, { maxInboundStreams: 256, maxOutboundStreams: 256 })

  node.addEventListener('connection:open', (e) => {
    const c = e.detail
    out({ event: 'connected', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction })
  })
  node.addEventListener('connection:close', (e) => {
    const c = e.detail
    out({ event: 'disconnected', peer: c.remotePeer.toString(), addr: c.remoteAddr.toString() })
  })
  node.addEventListener('peer:identify', (e) => {
    const r = e.detail
    out({
      event: 'identify',
      peer: r.peerId.toString(),
      agentVersion: r.agentVersion,
      protocolVersion: r.protocolVersion,
      publicKeyHex: r.publicKey ? hex(r.publicKey) : null,
      protocols: r.protocols,
      listenAddrs: r.listenAddrs.map(String),
      observedAddr: r.observedAddr ? r.observedAddr.toString() : null,
      remoteAddr: r.connection.remoteAddr.toString()
    })
  })
  node.services.pubsub.addEventListener('message', (e) => {
    const m = e.detail
    out({
      event: 'message',
      from: m.type === 'signed' ? m.from.toString() : null,
      topic: m.topic,
      dataHex: hex(m.data),
      seqno: m.type === 'signed' ? m.sequenceNumber.toString() : null
    })
  })
  node.services.pubsub.addEventListener('subscription-change', (e) => {
    out({
      event: 'subscription',
      peer: e.detail.peerId.toString(),
      subscriptions: e.detail.subscriptions.map(s => ({ topic: s.topic, subscribe: s.subscribe }))
    })
  })
  for (const t of opt.topic) node.services.pubsub.subscribe(t)

  out({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })

  const target = (c) => (c.addr ? multiaddr(c.addr) : peerIdFromString(c.peer))
  const commands = {
    async dial (c) {
      const conn = await node.dial(target(c), { signal: AbortSignal.timeout(c.timeoutMs ?? 10000) })
      return { peer: conn.remotePeer.toString(), addr: conn.remoteAddr.toString() }
    },
    async ping (c) {
      const rtts = []
      for (let i = 0; i < (c.count ?? 1); i++) {
        rtts.push(await node.services.ping.ping(target(c), { signal: AbortSignal.timeout(c.timeoutMs ?? 10000) }))
      }
      return { rtts }
    },
    async hangup (c) { await node.hangUp(peerIdFromString(c.peer)); return {} },
    async subscribe (c) { node.services.pubsub.subscribe(c.topic); return {} },
    async unsubscribe (c) { node.services.pubsub.unsubscribe(c.topic); return {} },
    async publish (c) {
      const r = await node.services.pubsub.publish(c.topic, Buffer.from(c.dataHex ?? '', 'hex'))
      return { recipients: r.recipients.map(String) }
    },
    // Dial a fresh connection and time it until the first ping reply (benchmark).
    async dialPing (c) {
      const t0 = process.hrtime.bigint()
      const conn = await node.dial(multiaddr(c.addr), { signal: AbortSignal.timeout(10000) })
      await node.services.ping.ping(conn.remotePeer, { signal: AbortSignal.timeout(10000) })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      await node.hangUp(conn.remotePeer)
      return { ms }
    },
    // Sends a message with a bad signature (or none) straight on our gossipsub
    // stream to `peer`, bypassing js's own signing: receivers must drop it.
    async forge (c) {
      const seq = Buffer.alloc(8)
      seq.writeBigUInt64BE(BigInt(Date.now()))
      const msg = {
        from: node.peerId.toMultihash().bytes,
        data: Buffer.from(c.dataHex ?? '', 'hex'),
        seqno: seq,
        topic: c.topic,
        signature: c.unsigned ? undefined : randomBytes(64),
        key: c.unsigned ? undefined : publicKeyToProtobuf(privateKey.publicKey)
      }
      return { sent: node.services.pubsub.sendRpc(c.peer, { subscriptions: [], messages: [msg] }) }
    },
    // Like forge, with `size` bytes of data and `count` messages in one RPC:
    // an RPC over the receiver's limit, or data just over its message limit.
    async bigrpc (c) {
      const seq = Buffer.alloc(8)
      seq.writeBigUInt64BE(BigInt(Date.now()))
      const msg = {
        from: node.peerId.toMultihash().bytes,
        data: Buffer.alloc(c.size ?? (1 << 20), 0x6a),
        seqno: seq,
        topic: c.topic,
        signature: randomBytes(64),
        key: publicKeyToProtobuf(privateKey.publicKey)
      }
      return { sent: node.services.pubsub.sendRpc(c.peer, { subscriptions: [], messages: Array(c.count ?? 1).fill(msg) }) }
    },
    async topicPeers (c) {
      return { peers: node.services.pubsub.getSubscribers(c.topic).map(String), mesh: node.services.pubsub.getMeshPeers(c.topic) }
    },
    async echo (c) {
      const peer = peerIdFromString(c.peer)
      const t0 = Date.now()
      const res = await Promise.all(Array.from({ length: c.streams ?? 1 }, (_, i) => echoOne(node, peer, c.size ?? 1024, i)))
      return { streams: res.length, allOk: res.every(r => r.ok), bytes: res.reduce((s, r) => s + r.bytes, 0), ms: Date.now() - t0, results: res }
    },
    // Opens an echo stream and writes `size` bytes without ever reading the
    // echo: a peer that stops reading. Resolves when everything was written
    // or after timeoutMs (the remote must apply backpressure, not buffer it all).
    async flood (c) {
      const stream = await node.dialProtocol(peerIdFromString(c.peer), ECHO_PROTOCOL)
      let sent = 0
      const chunk = Buffer.alloc(65536, 7)
      const gen = async function * () { while (sent < (c.size ?? 64 << 20)) { sent += chunk.length; yield chunk } }
      const r = await Promise.race([stream.sink(gen()).then(() => 'all-written'),
        new Promise((resolve) => setTimeout(() => resolve('blocked'), c.timeoutMs ?? 5000))])
      stream.abort(new Error('flood done'))
      return { sent, outcome: r }
    },
    async peers () {
      return { peers: node.getConnections().map(c => ({ peer: c.remotePeer.toString(), addr: c.remoteAddr.toString(), status: c.status })) }
    },
    async hangup (c) { await node.hangUp(peerIdFromString(c.peer)); return {} },
    async quit () { setTimeout(async () => { await node.stop(); process.exit(0) }, 10); return {} }
  }

  for (const a of opt.dial) {
    commands.dial({ addr: a }).then((r) => out({ event: 'dialed', ...r }),
      (err) => out({ event: 'error', what: 'dial', addr: a, error: String(err?.message ?? err) }))
  }

  const rl = createInterface({ input: process.stdin })
  rl.on('line', async (line) => {
    if (!line.trim()) return
    let c
    try { c = JSON.parse(line) } catch { out({ event: 'result', ok: false, error: 'bad json' }); return }
    const fn = commands[c.cmd]
    if (!fn) { out({ event: 'result', id: c.id, ok: false, error: `unknown command ${c.cmd}` }); return }
    try {
      out({ event: 'result', id: c.id, cmd: c.cmd, ok: true, ...(await fn(c)) })
    } catch (err) {
      out({ event: 'result', id: c.id, cmd: c.cmd, ok: false, error: String(err?.message ?? err), code: err?.name })
    }
  })
  rl.on('close', async () => { await node.stop(); process.exit(0) })
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => { out({ event: 'fatal', error: String(err?.stack ?? err) }); process.exit(1) })
