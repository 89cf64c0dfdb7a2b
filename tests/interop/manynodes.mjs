// N idle js-libp2p nodes in one process, each dialling TARGET once (for the
// memory-per-connection benchmark).   node manynodes.mjs N SWARM_KEY TARGET
import './polyfill.mjs'
import { readFileSync } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const [n, keyFile, target] = process.argv.slice(2)
const psk = readFileSync(keyFile)
const nodes = []
let ok = 0
for (let i = 0; i < Number(n); i++) {
  const node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk }),
    services: { identify: identify() }
  })
  nodes.push(node)
  try { await node.dial(multiaddr(target), { signal: AbortSignal.timeout(10000) }); ok++ } catch (e) {}
}
console.log(JSON.stringify({ event: 'connected', ok }))
process.stdin.resume()
process.stdin.on('end', async () => { await Promise.all(nodes.map(x => x.stop())); process.exit(0) })
process.on('SIGTERM', () => process.exit(0))
