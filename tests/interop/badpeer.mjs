// A misbehaving peer for the interop tests: speaks just enough pnet and
// multistream-select to reach a given layer, then sends bad input.
//   node badpeer.mjs MODE SWARM_KEY_FILE PORT
// MODE: garbage-after-nonce | noise-65535 | close-mid-handshake | stall
// Prints one JSON line {"event":"closed","mode":..,"ms":..,"gotBytes":..} when
// the server closed the connection (or {"event":"open"} after 15 s).
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import xsalsa20 from 'xsalsa20'

const [mode, keyFile, port] = process.argv.slice(2)
const lines = readFileSync(keyFile, 'utf8').trim().split(/\r?\n/)
const psk = Buffer.from(lines[2], 'hex')
const nonce = randomBytes(24)
const xor = xsalsa20(nonce, psk)
const enc = (b) => Buffer.from(xor.update(b))
const line = (s) => Buffer.concat([Buffer.from([s.length + 1]), Buffer.from(s + '\n')])

const t0 = Date.now()
let got = 0
const sock = net.connect({ host: '127.0.0.1', port: Number(port) })
sock.on('connect', () => {
  sock.write(nonce)
  if (mode === 'garbage-after-nonce') {
    sock.write(randomBytes(4096))
  } else if (mode === 'noise-65535') {
    const frame = Buffer.concat([Buffer.from([0xff, 0xff]), randomBytes(65535)])
    // mss header + /noise pipelined, then two maximal frames of noise:
    // the first passes as Noise msg1 (ephemeral key + plaintext payload),
    // the second must fail to decrypt as msg3.
    sock.write(enc(Buffer.concat([line('/multistream/1.0.0'), line('/noise'), frame, frame])))
  } else if (mode === 'stall') {
    // nonce only, then silence: the server's handshake deadline must fire
  } else if (mode === 'close-mid-handshake') {
    sock.write(enc(Buffer.concat([line('/multistream/1.0.0'), line('/noise').subarray(0, 3)])))
    setTimeout(() => { sock.destroy(); console.log(JSON.stringify({ event: 'closed-by-us', mode })); process.exit(0) }, 300)
  }
})
sock.on('data', (d) => { got += d.length })
const done = (why) => {
  console.log(JSON.stringify({ event: 'closed', mode, why, ms: Date.now() - t0, gotBytes: got }))
  process.exit(0)
}
sock.on('error', (e) => done(String(e.code ?? e)))
sock.on('close', () => done('close'))
setTimeout(() => { console.log(JSON.stringify({ event: 'open', mode, gotBytes: got })); process.exit(0) }, 15000)
