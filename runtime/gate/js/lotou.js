// lotou.js: the browser client of the Lotou gate protocol (docs/protocol.md),
// version lotou.gate/1. No dependencies. Every gate serves it at /lotou.js.
//
//   const c = new Lotou.Client("ws://" + location.host + "/ws");
//   c.onpush = (cmd, payload) => { ... };      // Uint8Array payload
//   c.onmove = (reason) => { ... };            // reconnect elsewhere
//   c.onclose = (code, reason) => { ... };     // why the gate closed us
//   const user = await c.connect(Lotou.utf8("ann"));
//   const reply = await c.call("join", Lotou.str("lobby"));
(function (global) {
  "use strict";
  const VERSION = "lotou.gate/1";
  const KIND = { hello: 1, send: 2, call: 3, reply: 4, error: 5, push: 6, move: 7, ping: 8, pong: 9 };
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  function utf8(s) { return enc.encode(s); }

  // str encodes a string the way the "binary" codec does: uint32 LE length, bytes.
  function str(...parts) {
    const bufs = parts.map((p) => enc.encode(p));
    const out = new Uint8Array(bufs.reduce((n, b) => n + 4 + b.length, 0));
    const dv = new DataView(out.buffer);
    let off = 0;
    for (const b of bufs) {
      dv.setUint32(off, b.length, true);
      out.set(b, off + 4);
      off += 4 + b.length;
    }
    return out;
  }

  // Reader decodes "binary" codec values in order.
  class Reader {
    constructor(bytes) { this.b = bytes; this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); this.off = 0; }
    u8() { this.need(1); return this.b[this.off++]; }
    u32() { this.need(4); const v = this.dv.getUint32(this.off, true); this.off += 4; return v; }
    bytes() { const n = this.u32(); this.need(n); const v = this.b.subarray(this.off, this.off + n); this.off += n; return v; }
    str() { return dec.decode(this.bytes()); }
    need(n) { if (this.off + n > this.b.length) throw new Error("truncated message"); }
  }

  function encode(kind, session, cmd, payload) {
    const c = enc.encode(cmd || "");
    const p = payload || new Uint8Array(0);
    const out = new Uint8Array(13 + c.length + p.length);
    const dv = new DataView(out.buffer);
    out[0] = kind;
    dv.setUint32(1, session, true);
    dv.setUint32(5, c.length, true);
    out.set(c, 9);
    dv.setUint32(9 + c.length, p.length, true);
    out.set(p, 13 + c.length);
    return out;
  }

  function decode(bytes) {
    const r = new Reader(bytes);
    const m = { kind: r.u8(), session: r.u32(), cmd: r.str(), payload: r.bytes() };
    if (r.off !== bytes.length) throw new Error("trailing bytes");
    return m;
  }

  class GateError extends Error {
    constructor(code, text) { super(code + ": " + text); this.code = code; this.text = text; }
  }

  class Client {
    constructor(url) {
      this.url = url;
      this.session = 0;
      this.pending = new Map();
      this.onpush = () => {};
      this.onmove = () => {};
      this.onclose = () => {};
      this.closeReason = "";
    }

    // connect opens the WebSocket and says hello; it resolves to the user.
    connect(credentials) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(this.url);
        ws.binaryType = "arraybuffer";
        this.ws = ws;
        ws.onopen = () => {
          this._request(KIND.hello, VERSION, credentials).then((p) => resolve(dec.decode(p)), reject);
        };
        ws.onmessage = (ev) => this._receive(new Uint8Array(ev.data));
        ws.onerror = () => reject(new Error("WebSocket error"));
        ws.onclose = (ev) => {
          const reason = this.closeReason || ev.reason || "connection closed (" + ev.code + ")";
          for (const [, p] of this.pending) p.reject(new Error(reason));
          this.pending.clear();
          reject(new Error(reason));
          this.onclose(ev.code, reason);
        };
      });
    }

    call(cmd, payload) { return this._request(KIND.call, cmd, payload); }
    ping() { return this._request(KIND.ping, "", null); }
    send(cmd, payload) { this.ws.send(encode(KIND.send, 0, cmd, payload)); }
    // sendRaw sends bytes as they are: for tests of the gate's defences.
    sendRaw(bytes) { this.ws.send(bytes); }
    close() { this.ws.close(1000, "bye"); }

    _request(kind, cmd, payload) {
      const s = ++this.session;
      return new Promise((resolve, reject) => {
        this.pending.set(s, { resolve, reject });
        this.ws.send(encode(kind, s, cmd, payload));
      });
    }

    _receive(bytes) {
      let m;
      try { m = decode(bytes); } catch (e) { this.ws.close(1007, "malformed message from the gate"); return; }
      const p = this.pending.get(m.session);
      switch (m.kind) {
        case KIND.reply:
        case KIND.pong:
          if (p) { this.pending.delete(m.session); p.resolve(m.payload); }
          break;
        case KIND.error:
          if (m.session === 0) { this.closeReason = m.cmd + ": " + dec.decode(m.payload); break; }
          if (p) { this.pending.delete(m.session); p.reject(new GateError(m.cmd, dec.decode(m.payload))); }
          break;
        case KIND.push:
          this.onpush(m.cmd, m.payload);
          break;
        case KIND.move:
          this.onmove(dec.decode(m.payload));
          break;
      }
    }
  }

  global.Lotou = { Client, Reader, GateError, str, utf8, encode, decode, VERSION, KIND };
})(typeof window !== "undefined" ? window : globalThis);
