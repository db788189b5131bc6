// buffer.js: Node's Buffer (a Uint8Array subclass), atob/btoa, TextEncoder/TextDecoder.

// Bytes to a "binary string" (one char per byte) for the host.
function bin(u8) {
  if (u8 === undefined || u8 === null) return '';
  let s = '';
  for (let i = 0; i < u8.length; i += 8192) {
    s += String.fromCharCode.apply(null, u8.subarray(i, Math.min(i + 8192, u8.length)));
  }
  return s;
}

// A Uint8Array from the host, turned into a Buffer.
function wrap(u8) {
  Object.setPrototypeOf(u8, Buffer.prototype);
  return u8;
}

const ENCODINGS = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii', 'utf16le', 'utf-16le', 'ucs2', 'ucs-2'];

function encodingOf(enc) {
  return enc === undefined || enc === null ? 'utf8' : String(enc);
}

class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === 'string') return wrap(host.bytes(value, encodingOf(encodingOrOffset)));
    if (value instanceof ArrayBuffer) {
      const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset);
      const len = length === undefined ? value.byteLength - offset : Number(length);
      return new Buffer(value, offset, len);
    }
    if (ArrayBuffer.isView(value)) {
      const src = value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      const b = new Buffer(src.length);
      b.set(src);
      return b;
    }
    if (Array.isArray(value)) {
      const b = new Buffer(value.length);
      for (let i = 0; i < value.length; i++) b[i] = Number(value[i]) & 255;
      return b;
    }
    if (value !== null && typeof value === 'object') {
      if (value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
      if (typeof value.length === 'number') return Buffer.from(Array.prototype.slice.call(value));
      const prim = typeof value.valueOf === 'function' ? value.valueOf() : value;
      if (prim !== value && prim !== null && prim !== undefined) return Buffer.from(prim, encodingOrOffset, length);
    }
    throw new TypeError(
      'The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.'
    );
  }

  static alloc(size, fill, encoding) {
    const b = new Buffer(size);
    if (fill !== undefined && fill !== 0) b.fill(fill, 0, b.length, encoding);
    return b;
  }

  static allocUnsafe(size) {
    return new Buffer(size);
  }

  static allocUnsafeSlow(size) {
    return new Buffer(size);
  }

  static isBuffer(b) {
    return b instanceof Buffer;
  }

  static isEncoding(e) {
    return typeof e === 'string' && ENCODINGS.indexOf(e.toLowerCase()) >= 0;
  }

  static byteLength(value, encoding) {
    if (typeof value === 'string') return host.bytes(value, encodingOf(encoding)).length;
    if (value && typeof value.byteLength === 'number') return value.byteLength;
    throw new TypeError('The "string" argument must be of type string or an instance of Buffer or ArrayBuffer.');
  }

  static concat(list, totalLength) {
    if (!Array.isArray(list)) throw new TypeError('The "list" argument must be an instance of Array.');
    let total = 0;
    for (const b of list) total += b.length;
    if (totalLength !== undefined) total = Number(totalLength);
    const out = new Buffer(total);
    let pos = 0;
    for (const b of list) {
      if (pos >= total) break;
      const part = b.length > total - pos ? b.subarray(0, total - pos) : b;
      out.set(part, pos);
      pos += part.length;
    }
    return out;
  }

  static compare(a, b) {
    return Buffer.prototype.compare.call(a, b);
  }

  toString(encoding, start, end) {
    let view = this;
    if (start !== undefined || end !== undefined) {
      view = this.subarray(start === undefined ? 0 : start, end === undefined ? this.length : end);
    }
    return host.str(bin(view), encodingOf(encoding));
  }

  toJSON() {
    return { type: 'Buffer', data: Array.from(this) };
  }

  equals(other) {
    if (!(other instanceof Uint8Array)) throw new TypeError('The "otherBuffer" argument must be an instance of Buffer or Uint8Array.');
    if (other.length !== this.length) return false;
    for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
    return true;
  }

  compare(other) {
    const n = Math.min(this.length, other.length);
    for (let i = 0; i < n; i++) {
      if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
    }
    return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
  }

  slice(start, end) {
    return this.subarray(start, end);
  }

  fill(value, offset, end, encoding) {
    if (typeof offset === 'string') {
      encoding = offset;
      offset = 0;
      end = this.length;
    }
    offset = offset === undefined ? 0 : offset;
    end = end === undefined ? this.length : end;
    if (typeof value === 'number') return Uint8Array.prototype.fill.call(this, value & 255, offset, end);
    const bytes = typeof value === 'string' ? host.bytes(value, encodingOf(encoding)) : value;
    if (bytes.length === 0) return Uint8Array.prototype.fill.call(this, 0, offset, end);
    for (let i = offset, j = 0; i < end; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
    return this;
  }

  write(string, offset, length, encoding) {
    if (typeof offset === 'string') {
      encoding = offset;
      offset = 0;
    } else if (typeof length === 'string') {
      encoding = length;
      length = undefined;
    }
    offset = offset === undefined ? 0 : offset;
    const bytes = host.bytes(String(string), encodingOf(encoding));
    const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
    for (let i = 0; i < n; i++) this[offset + i] = bytes[i];
    return n;
  }

  copy(target, targetStart, sourceStart, sourceEnd) {
    targetStart = targetStart || 0;
    sourceStart = sourceStart || 0;
    sourceEnd = sourceEnd === undefined ? this.length : sourceEnd;
    const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }

  _view() {
    return new DataView(this.buffer, this.byteOffset, this.byteLength);
  }
  readUInt8(o = 0) {
    return this._view().getUint8(o);
  }
  readUInt16BE(o = 0) {
    return this._view().getUint16(o, false);
  }
  readUInt16LE(o = 0) {
    return this._view().getUint16(o, true);
  }
  readUInt32BE(o = 0) {
    return this._view().getUint32(o, false);
  }
  readUInt32LE(o = 0) {
    return this._view().getUint32(o, true);
  }
  readInt32BE(o = 0) {
    return this._view().getInt32(o, false);
  }
  readInt32LE(o = 0) {
    return this._view().getInt32(o, true);
  }
  writeUInt8(v, o = 0) {
    this._view().setUint8(o, v);
    return o + 1;
  }
  writeUInt16BE(v, o = 0) {
    this._view().setUint16(o, v, false);
    return o + 2;
  }
  writeUInt32BE(v, o = 0) {
    this._view().setUint32(o, v, false);
    return o + 4;
  }
  writeUInt32LE(v, o = 0) {
    this._view().setUint32(o, v, true);
    return o + 4;
  }
  writeInt32BE(v, o = 0) {
    this._view().setInt32(o, v, false);
    return o + 4;
  }
}
Buffer.prototype.readUint8 = Buffer.prototype.readUInt8;
Buffer.prototype.readUint32BE = Buffer.prototype.readUInt32BE;
Buffer.prototype.readUint32LE = Buffer.prototype.readUInt32LE;
Buffer.poolSize = 8192;

defineGlobal('Buffer', Buffer);

defineGlobal('btoa', (s) => {
  const str = String(s);
  for (let i = 0; i < str.length; i++) {
    if (str.charCodeAt(i) > 255) throw new Error('Invalid character');
  }
  return host.str(str, 'base64');
});
defineGlobal('atob', (s) => bin(host.bytes(String(s), 'base64')));

class TextEncoder {
  get encoding() {
    return 'utf-8';
  }
  encode(s) {
    return new Uint8Array(host.bytes(s === undefined ? '' : String(s), 'utf8'));
  }
}
class TextDecoder {
  constructor(label) {
    const l = (label === undefined ? 'utf-8' : String(label)).toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8') throw new RangeError('The "' + label + '" encoding is not supported');
  }
  get encoding() {
    return 'utf-8';
  }
  decode(bytes) {
    if (bytes === undefined) return '';
    const u8 = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return host.str(bin(u8), 'utf8');
  }
}
defineGlobal('TextEncoder', TextEncoder);
defineGlobal('TextDecoder', TextDecoder);

lib.bin = bin;
lib.wrap = wrap;
