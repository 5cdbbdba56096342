// The layout of a .wasm, read from its sections: each function body's size (and name, from the
// name section of a named build), and the code and data sections' sizes. For bench/run.mjs's size
// table and bench/profile.mjs's "where the bytes go".

/** `{ functions: [{ size, name }], codeSection, data, total }`, sizes in bytes. */
export function wasmLayout(buf) {
  let pos = 8;
  const leb = () => {
    let result = 0, shift = 0, byte;
    do {
      byte = buf[pos++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const str = () => {
    const n = leb();
    const s = buf.subarray(pos, pos + n).toString("utf8");
    pos += n;
    return s;
  };
  const limits = () => {
    const flag = buf[pos++];
    leb();
    if (flag & 1) leb();
  };
  let importedFunctions = 0;
  const bodies = [];
  const names = new Map();
  let data = 0;
  let codeSection = 0;
  while (pos < buf.length) {
    const id = buf[pos++];
    const len = leb();
    const end = pos + len;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        str();
        str();
        const kind = buf[pos++];
        if (kind === 0) (leb(), importedFunctions++);
        else if (kind === 1) (pos++, limits());
        else if (kind === 2) limits();
        else if (kind === 3) pos += 2;
        else if (kind === 4) (pos++, leb());
      }
    } else if (id === 10) {
      codeSection = len;
      for (let n = leb(); n > 0; n--) {
        const size = leb();
        bodies.push(size);
        pos += size;
      }
    } else if (id === 11) {
      data = len;
    } else if (id === 0 && str() === "name") {
      while (pos < end) {
        const sub = buf[pos++];
        const subLen = leb();
        const subEnd = pos + subLen;
        if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), str());
        pos = subEnd;
      }
    }
    pos = end;
  }
  const functions = bodies.map((size, i) => ({ size, name: names.get(importedFunctions + i) ?? `func[${importedFunctions + i}]` }));
  return { functions, codeSection, data, total: buf.length };
}
