// gossipsub message IDs for the js peers (peer.mjs, gsbench.mjs, mdnspeer.mjs).
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'

// The seqno as 8 bytes big-endian.
function seqBytes (msg) {
  const seq = Buffer.alloc(8)
  seq.writeBigUInt64BE(BigInt.asUintN(64, msg.sequenceNumber))
  return seq
}

// go's DefaultMsgIdFn: from (peer ID multihash) || seqno (8 bytes big-endian).
export function msgIdFromSeqno (msg) {
  return new Uint8Array(Buffer.concat([Buffer.from(msg.from.toMultihash().bytes), seqBytes(msg)]))
}

// js >= 14 (msgIdFnStrictSign): public-key protobuf || seqno.
export function msgIdKeySeqno (msg) {
  return new Uint8Array(Buffer.concat([Buffer.from(publicKeyToProtobuf(msg.from.publicKey ?? msg.key)), seqBytes(msg)]))
}
