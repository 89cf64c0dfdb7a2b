// Node 20 lacks Promise.withResolvers (Node >= 22); it-queue (via mortice, a
// libp2p 2.x dependency) calls it at start-up. Define it only when missing.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
