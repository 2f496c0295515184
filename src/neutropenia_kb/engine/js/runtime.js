/* neutropenia-kb runtime: runs the compiled form of the rules (written out by
   engine/js_backend.py as JSON data) in the browser, exactly as the Python engine does.
   Numbers are exact BigInt rationals, never floats; logic is Kleene's three-valued logic
   (null = unknown); patient input is read by the rules of engine/patient.py, and a bad value
   throws an error naming the field, the value and what is allowed, in the same words.
   No third-party code, no eval, no network. DESIGN.md: "The compiled form and its semantics". */
(function (root) {
  "use strict";

  // ---- exact rationals -------------------------------------------------------------------
  function gcd(a, b) { if (a < 0n) a = -a; while (b) { var t = a % b; a = b; b = t; } return a; }
  function Q(n, d) {
    if (d === undefined) d = 1n;
    if (d < 0n) { n = -n; d = -d; }
    var g = gcd(n, d) || 1n;
    return { n: n / g, d: d / g };
  }
  function qText(t) { var p = t.split("/"); return Q(BigInt(p[0]), BigInt(p[1] || "1")); }
  function add(a, b) { return Q(a.n * b.d + b.n * a.d, a.d * b.d); }
  function sub(a, b) { return Q(a.n * b.d - b.n * a.d, a.d * b.d); }
  function mul(a, b) { return Q(a.n * b.n, a.d * b.d); }
  function div(a, b) { return b.n === 0n ? null : Q(a.n * b.d, a.d * b.n); }
  function cmp(a, b) { var l = a.n * b.d, r = b.n * a.d; return l < r ? -1 : l > r ? 1 : 0; }
  var ZERO = Q(0n), HUNDRED = Q(100n);

  // ---- errors ------------------------------------------------------------------------------
  function InputError(field, value, allowed) {
    this.name = "InputError";
    this.field = field;
    this.allowed = allowed;
    this.message = show(field) + ": " + shownValue(value) + " is not allowed: " + allowed;
  }
  function shownValue(value) { return typeof value === "string" ? "'" + show(value) + "'" : show(pyRepr(value, 3)); }
  InputError.prototype = Object.create(Error.prototype);
  function UsageError(message) { this.name = "UsageError"; this.message = message; }
  UsageError.prototype = Object.create(Error.prototype);
  function UnitError(message) { this.message = message; }

  // ---- values as Python reads JSON: ints, decimals (kept as text), str, bool, null, list, Map
  function PyInt(v) { this.v = v; }
  function PyDec(s) { this.s = s; }
  var isMap = function (x) { return x instanceof Map; };

  /* JSON text → values, as patient.read_json reads it: exact numbers, NaN/Infinity kept as
     numbers, a duplicate key refused, nesting bounded. */
  var WORDS = [["true", true], ["false", false], ["null", null], ["NaN", new PyDec("NaN")],
    ["Infinity", new PyDec("Infinity")], ["-Infinity", new PyDec("-Infinity")]];
  function parseJson(text) {
    var i = 0, depth = 0;
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    function fail(why) { throw new UsageError("the patient JSON cannot be read: " + why + " at character " + i); }
    function ws() { while (" \t\n\r".indexOf(text[i]) >= 0 && i < text.length) i++; }
    var NUM = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
    function value() {
      ws();
      var c = text[i];
      if (c === "{" || c === "[") {
        if (++depth > 900) fail("nested too deeply");
        i++; ws();
        var close = c === "{" ? "}" : "]", out = c === "{" ? new Map() : [];
        if (text[i] === close) { i++; depth--; return out; }
        for (;;) {
          if (c === "{") {
            ws(); if (text[i] !== '"') fail("expecting a key");
            var key = string(); ws();
            if (text[i++] !== ":") fail("expecting ':'");
            if (out.has(key)) fail("duplicate key '" + show(key) + "'");
            out.set(key, value());
          } else out.push(value());
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i++] === close) { depth--; return out; }
          fail("expecting ',' or '" + close + "'");
        }
      }
      if (c === '"') return string();
      for (var w = 0; w < WORDS.length; w++) {
        if (text.startsWith(WORDS[w][0], i)) { i += WORDS[w][0].length; return WORDS[w][1]; }
      }
      NUM.lastIndex = i;
      var m = NUM.exec(text);
      if (!m) fail("expecting a value");
      i = NUM.lastIndex;
      return (m[1] || m[2] || m[0].length > 30) ? new PyDec(m[0]) : new PyInt(BigInt(m[0]));
    }
    function string() {
      var out = "", start = ++i;
      for (;;) {
        var c = text[i];
        if (c === undefined) fail("unterminated string");
        if (c === '"') { i++; return out; }
        if (c.charCodeAt(0) < 0x20) fail("invalid control character");
        if (c === "\\") {
          var e = text[i + 1], esc = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
          if (esc !== undefined) { out += esc; i += 2; continue; }
          if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.substr(i + 2, 4))) {
            out += String.fromCharCode(parseInt(text.substr(i + 2, 4), 16)); i += 6; continue;
          }
          fail("invalid escape");
        }
        out += c; i++;
      }
    }
    var v = value(); ws();
    if (i < text.length) fail("extra data");
    return v;
  }

  /* A JavaScript value (a form's answers, JSON.parse output) → the same values, numbers read
     from their shortest text as Python reads that JSON text. */
  function fromJs(x, depth) {
    if (x === undefined || x === null) return null;
    if (typeof x === "number") {
      if (!isFinite(x)) return new PyDec(isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
      var t = JSON.stringify(x);
      return /[.eE]/.test(t) || t.length > 30 ? new PyDec(t) : new PyInt(BigInt(t));
    }
    if (typeof x === "bigint") return new PyInt(x);
    if (typeof x !== "object" || x instanceof PyInt || x instanceof PyDec) return x;
    if (depth > 40) return [];
    if (Array.isArray(x)) return x.map(function (v) { return fromJs(v, depth + 1); });
    var m = new Map();
    Object.keys(x).forEach(function (k) { m.set(k, fromJs(x[k], depth + 1)); });
    return m;
  }

  // ---- Python's text of values (messages quote them exactly as Python does) ---------------
  var SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  var STRIP = new RegExp("^" + SPACE + "+|" + SPACE + "+$", "g");
  function strip(s) { return s.replace(STRIP, ""); }
  function chars(s) { return Array.from(s); }
  function longer(s, n) { return s.length > n && chars(s).length > n; }  // in code points
  function commas(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  // problems.show_value for text: cut (at 80); controls, line separators and bidi marks escaped
  function show(text, limit) {
    limit = limit || 80;
    if (longer(text, limit)) {
      var c = chars(text);
      text = c.slice(0, limit).join("") + "\u2026 (" + commas(c.length) + " characters)";
    }
    return text.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, function (ch) {
      var k = ch.charCodeAt(0);
      return k === 10 ? "\\n" : k === 13 ? "\\r" : k === 9 ? "\\t" : k < 256 ? "\\x" + hex(k, 2) : "\\u" + hex(k, 4);
    });
  }
  function hex(k, w) { var h = k.toString(16); while (h.length < w) h = "0" + h; return h; }
  var NONPRINT = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
  function strRepr(s) {
    var q = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'", out = q;
    chars(s).forEach(function (ch) {
      var k = ch.codePointAt(0);
      if (ch === q || ch === "\\") out += "\\" + ch;
      else if (k === 9) out += "\\t"; else if (k === 10) out += "\\n"; else if (k === 13) out += "\\r";
      else if (ch !== " " && NONPRINT.test(ch)) out += k < 0x100 ? "\\x" + hex(k, 2) : k < 0x10000 ? "\\u" + hex(k, 4) : "\\U" + hex(k, 8);
      else out += ch;
    });
    return out + q;
  }
  function cut(s, limit) {  // reprlib: keep both ends around '...'
    var c = chars(s);
    if (c.length <= limit) return s;
    var i = Math.floor((limit - 3) / 2), j = limit - 3 - i;
    return c.slice(0, i).join("") + "..." + c.slice(c.length - j).join("");
  }
  var SURROGATE = /[\ud800-\udfff]/;
  function byCodePoint(a, b) {
    if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
    var x = chars(a), y = chars(b);
    for (var k = 0; k < Math.min(x.length, y.length); k++) {
      var d = x[k].codePointAt(0) - y[k].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }
  /* reprlib.Repr as problems.show_value sets it up (level 3, 6 list items, 4 dict keys sorted,
     80 characters); level < 0: the full repr(). */
  function pyRepr(x, level) {
    var full = level < 0;
    if (x === null) return "None";
    if (x === true) return "True";
    if (x === false) return "False";
    if (x instanceof PyInt) return x.v.toString();
    if (x instanceof PyDec) return full ? "Decimal('" + decStr(x.s) + "')" : chars(decStr(x.s)).slice(0, 80).join("");
    if (typeof x === "string") {
      if (full) return strRepr(x);
      var c = chars(x), s = strRepr(c.slice(0, 80).join(""));
      if (chars(s).length > 80) {  // x[:38] + x[len(x)-39:], with Python's negative start
        var from = c.length - 39;
        if (from < 0) from = Math.max(0, c.length + from);
        var r = chars(strRepr(c.slice(0, 38).join("") + c.slice(from).join("")));
        s = r.slice(0, 38).join("") + "..." + r.slice(r.length - 39).join("");
      }
      return s;
    }
    if (Array.isArray(x)) {
      if (!full && level <= 0 && x.length) return "[...]";
      var items = full ? x : x.slice(0, 6);
      var parts = items.map(function (v) { return pyRepr(v, full ? -1 : level - 1); });
      if (!full && x.length > 6) parts.push("...");
      return "[" + parts.join(", ") + "]";
    }
    if (isMap(x)) {
      if (x.size === 0) return "{}";
      if (!full && level <= 0) return "{...}";
      var keys = Array.from(x.keys());
      if (!full) keys = keys.sort(byCodePoint).slice(0, 4);
      var ps = keys.map(function (k) { return pyRepr(k, full ? -1 : level - 1) + ": " + pyRepr(x.get(k), full ? -1 : level - 1); });
      if (!full && x.size > 4) ps.push("...");
      return "{" + ps.join(", ") + "}";
    }
    return String(x);
  }
  function pyStr(x) {
    if (typeof x === "string") return x;
    if (x instanceof PyDec) return decStr(x.s);
    return pyRepr(x, -1);
  }

  // ---- decimals as Python's Decimal reads and writes them ---------------------------------
  var ND = /\p{Nd}/u;
  function asciiDigits(s) {  // Decimal reads any Unicode decimal digit
    if (/^[\x00-\x7f]*$/.test(s)) return s;
    return chars(s).map(function (ch) {
      if (ch >= "0" && ch <= "9" || !ND.test(ch)) return ch;
      var k = ch.codePointAt(0), z = k;
      while (ND.test(String.fromCodePoint(z - 1))) z--;
      return String((k - z) % 10);
    }).join("");
  }
  // → {special} | {neg, coef (digits, no leading zeros), exp (BigInt)}, or null if not a number
  function decParse(text) {
    var t = strip(asciiDigits(text)).replace(/_/g, "");
    var m = /^([-+]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([-+]?\d+))?$/.exec(t);
    if (!m) {
      var sp = /^([-+]?)(inf|infinity|s?nan\d*)$/i.exec(t);
      if (!sp) return null;
      var w = sp[2].toLowerCase();
      return { special: sp[1] === "-" ? "-" : "", word: w[0] === "i" ? "Infinity" : (w[0] === "s" ? "sNaN" : "NaN") + w.replace(/^s?nan0*/, "") };
    }
    var ip = m[2] !== undefined ? m[2] : "", fp = m[2] !== undefined ? (m[3] || "") : m[4];
    var coef = (ip + fp).replace(/^0+/, "") || "0";
    var exp = BigInt(m[5] || "0") - BigInt(fp.length);
    var adj = exp + BigInt(coef.length) - 1n;
    if (adj > 999999999999999999n || adj < -1999999999999999997n) return null;
    return { neg: m[1] === "-", coef: coef, exp: exp };
  }
  function decStr(text) {  // str(Decimal(text))
    var d = decParse(text);
    if (d === null) return text;
    if (d.special !== undefined) return d.special + d.word;
    var c = d.coef, left = d.exp + BigInt(c.length), dot;
    dot = d.exp <= 0n && left > -6n ? left : 1n;
    var intpart, frac = "";
    if (dot <= 0n) { intpart = "0"; frac = "." + "0".repeat(Number(-dot)) + c; }
    else if (dot >= BigInt(c.length)) intpart = c + "0".repeat(Number(dot - BigInt(c.length)));
    else { intpart = c.slice(0, Number(dot)); frac = "." + c.slice(Number(dot)); }
    var e = left === dot ? "" : "E" + (left - dot >= 0n ? "+" : "") + (left - dot).toString();
    return (d.neg ? "-" : "") + intpart + frac + e;
  }

  var RANGE = "written numbers have at most 30 digits and lie between 1e-20 and 1e21 (or are 0)";
  var INT_LIMIT = 10n ** 21n;
  /* units.exact: a number as an exact rational, in bounded time and size, or a UnitError. */
  function exact(x) {
    if (x === true || x === false) throw new UnitError("a true/false value is not a number");
    if (x instanceof PyInt) {
      if (x.v <= -INT_LIMIT || x.v >= INT_LIMIT) throw new UnitError(pyRepr(x, 3) + " is far too large; " + RANGE);
      return Q(x.v);
    }
    var text, shown = function () { return "'" + show(typeof x === "string" ? x : pyRepr(x, 3)) + "'"; };
    if (typeof x === "string") {
      text = decimalText(strip(x));
      if (longer(text, 100)) throw new UnitError(shown() + " is too long for a number; " + RANGE);
    } else if (x instanceof PyDec) text = x.s;
    else throw new UnitError(show(pyRepr(x, 3)) + " is not a number");
    var d = decParse(text);
    if (d === null) throw new UnitError(shown() + " is not a number");
    if (d.special !== undefined) throw new UnitError(shown() + " is not a finite number");
    if (d.coef === "0") return ZERO;
    var adj = d.exp + BigInt(d.coef.length) - 1n;
    if (adj > 20n) throw new UnitError(shown() + " is far too large; " + RANGE);
    if (adj < -20n) throw new UnitError(shown() + " is far too small; " + RANGE);
    // Python also refuses len(str(value)) > 60, which at most 30 digits never reach.
    if (d.coef.length > 30) throw new UnitError(shown() + " has too many digits; " + RANGE);
    return decQ(d);
  }
  function decQ(d) {
    var n = BigInt(d.coef) * (d.neg ? -1n : 1n);
    return d.exp >= 0n ? Q(n * 10n ** d.exp) : Q(n, 10n ** -d.exp);
  }
  /* units.decimal_text: thousands separators dropped, a decimal comma made a point, any other
     comma refused. */
  var THOUSANDS = /^[-+]?[1-9]\p{Nd}{0,2}(?:,\p{Nd}{3})+(?:\.\p{Nd}*)?(?:[eE][-+]?\p{Nd}+)?$/u;
  var DECIMAL_COMMA = /^[-+]?\p{Nd}+,\p{Nd}+(?:[eE][-+]?\p{Nd}+)?$/u;
  function decimalText(text) {
    if (text.indexOf(",") < 0) return text;
    if (THOUSANDS.test(text)) return text.replace(/,/g, "");
    if (DECIMAL_COMMA.test(text)) return text.replace(",", ".");
    throw new UnitError("'" + show(text) + "': the comma cannot be read safely; write the number with a decimal point and no thousands separator, e.g. 1500 or 0.4");
  }
  var QUANTITY = new RegExp("^" + SPACE + "*([-+]?(?:\\p{Nd}[\\p{Nd},.]*|[.,]\\p{Nd}+)(?:[eE][-+]?\\p{Nd}+)?)" +
    SPACE + "*([^\\n]*?)" + SPACE + "*$", "u");
  function splitQuantity(text) {
    if (longer(text, 100)) throw new UnitError("'" + show(text) + "' is too long for a number with a unit; " + RANGE);
    var m = QUANTITY.exec(text);
    if (!m) throw new UnitError("'" + show(text) + "' is not a number with an optional unit");
    return [exact(m[1]), m[2]];
  }

  // ---- numbers written out ------------------------------------------------------------------
  function places(q, most) {  // how many decimals q has (at most `most`), or -1 when more
    for (var p = 0; p <= most; p++) if (q.n * 10n ** BigInt(p) % q.d === 0n) return p;
    return -1;
  }
  function digits(q, p) {  // q cut toward zero to p decimals, as text (no thousands separators)
    var cut = q.n * 10n ** BigInt(p) / q.d, neg = cut < 0n, t = (neg ? -cut : cut).toString().padStart(p + 1, "0");
    return [neg ? "-" : "", t.slice(0, t.length - p), p ? "." + t.slice(t.length - p) : ""];
  }
  /* units.json_number: whole numbers as numbers; a decimal that ends, exactly; a repeating one
     floored to 6 places. A JS number when its shortest text is that decimal, else the text. */
  function jsonNumber(q) {
    if (q.d === 1n) return Number(q.n);
    var p = places(q, 99);
    if (p < 0) { p = 6; var f = q.n * 1000000n / q.d; if (f * q.d > q.n * 1000000n) f -= 1n; q = Q(f, 1000000n); }
    var t = digits(q, p).join(""), x = Number(t), back = decQ(decParse(String(x)));
    return back.n === q.n && back.d === q.d ? x : t;
  }
  /* units.format_number (places None): '1,500', '0.8', '37.944' — cut, never rounded. */
  function formatNumber(q) {
    var p = places(q, 6), d = digits(q, p < 0 ? 3 : p);
    return d[0] + commas(d[1]) + d[2];
  }

  // ---- difflib.get_close_matches(word, choices, n=1, cutoff=0.6) ---------------------------
  function matches(a, b) {  // SequenceMatcher(None, a, b): the sum of the matching blocks
    var b2j = new Map();
    b.forEach(function (ch, j) { if (!b2j.has(ch)) b2j.set(ch, []); b2j.get(ch).push(j); });
    var total = 0, queue = [[0, a.length, 0, b.length]];
    while (queue.length) {
      var q = queue.pop(), alo = q[0], ahi = q[1], blo = q[2], bhi = q[3];
      var bi = alo, bj = blo, size = 0, j2len = new Map();
      for (var i = alo; i < ahi; i++) {
        var next = new Map(), js = b2j.get(a[i]) || [];
        for (var t = 0; t < js.length; t++) {
          var j = js[t];
          if (j < blo) continue;
          if (j >= bhi) break;
          var k = (j2len.get(j - 1) || 0) + 1;
          next.set(j, k);
          if (k > size) { bi = i - k + 1; bj = j - k + 1; size = k; }
        }
        j2len = next;
      }
      if (size) {
        total += size;
        if (alo < bi && blo < bj) queue.push([alo, bi, blo, bj]);
        if (bi + size < ahi && bj + size < bhi) queue.push([bi + size, ahi, bj + size, bhi]);
      }
    }
    return total;
  }
  function didYouMean(word, choices) {
    if (typeof word !== "string" || longer(word, 100)) return "";
    var b = chars(word), best = null, score = -1;
    choices.forEach(function (x) {
      var a = chars(x), r = 2.0 * matches(a, b) / (a.length + b.length);
      if (r >= 0.6 && (r > score || (r === score && byCodePoint(x, best) > 0))) { best = x; score = r; }
    });
    return best === null ? "" : "; did you mean '" + best + "'?";
  }

  // ---- the program ---------------------------------------------------------------------------
  function load(data) {
    var units = {};
    data.units.forEach(function (u) { units[u[0]] = { name: u[0], dim: u[1], scale: qText(u[2]), offset: qText(u[3]), symbol: u[4] }; });
    var inputs = data.inputs.map(function (d) {
      return { id: d.id, type: d.type, dim: d.dim, unit: d.unit ? units[d.unit] : null,
        accepted: d.readings, min: d.min === null ? null : qText(d.min),
        max: d.max === null ? null : qText(d.max), allowed: d.allowed,
        below: d.below ? qText(d.below) : null, readings: d.readings };
    });
    var byId = new Map(inputs.map(function (i) { return [i.id, i]; }));
    var names = inputs.map(function (i) { return i.id; });
    var symptoms = new Set(data.symptoms);
    var adviceSorted = data.advice.slice().sort(function (a, b) { return byCodePoint(a[0], b[0]); });
    var bands = data.severity.bands.map(function (b) {
      return [b[0], b[1] === null ? null : qText(b[1]), b[2] === null ? null : qText(b[2]), b[3]];
    });
    var constants = {}, ONE = Q(1n);
    function toBase(q, u) { return add(mul(q, u.scale), u.offset); }
    function fromBase(q, u) { return div(sub(q, u.offset), u.scale); }
    function within(spec, v) { return !(spec.min && cmp(v, spec.min) < 0) && !(spec.max && cmp(v, spec.max) > 0); }

    function normal(text) {
      text = strip(text).replace(/ /g, "");
      data.folds.forEach(function (p) { text = text.split(p[0]).join(p[1]); });
      return text;
    }
    function findUnit(text) { var n = data.spellings[normal(text)]; return n ? units[n] : null; }
    function falsy(x) {
      return x === undefined || x === null || x === false || x === "" || (x instanceof PyInt && x.v === 0n) ||
        (x instanceof PyDec && decParse(x.s) && decParse(x.s).coef === "0") ||
        (Array.isArray(x) && !x.length) || (isMap(x) && !x.size);
    }
    function split(spec, raw) {  // [number, unit written with it or null]
      var unitText = "", number;
      if (isMap(raw)) {
        var extra = Array.from(raw.keys()).some(function (k) { return k !== "value" && k !== "unit"; });
        if (extra || !raw.has("value")) throw new UnitError("write {value: 0.8, unit: '10^9/L'}");
        number = exact(raw.get("value"));
        unitText = falsy(raw.get("unit")) ? "" : raw.get("unit");
        if (typeof unitText !== "string")
          throw new UnitError("the unit must be written as text, such as '10^9/L', not " + show(pyRepr(unitText, 3)));
      } else if (typeof raw === "string") {
        var sq = splitQuantity(raw); number = sq[0]; unitText = sq[1];
      } else number = exact(raw);
      if (!unitText) return [number, null];
      var unit = !longer(unitText, 100) ? findUnit(unitText) : null;
      if (unit === null || spec.accepted.indexOf(unit.name) < 0) {
        if (spec.dim === "percent" && strip(unitText) === "%") return [number, null];
        var shown = show(unitText);
        throw new UnitError(unit === null ? "unknown unit '" + shown + "'" : "'" + shown + "' is a unit for " +
          ({ cell_count: "count", temperature: "temperature", percent: "percent", number: "number" }[unit.dim] || "another") + " values");
      }
      return [number, unit];
    }
    /* → [value in base units, number as written, its unit]. A bare number below `below` that
       is plausible in another unit too is refused as ambiguous, naming each reading. */
    function readNumber(spec, raw) {
      var value, given, unit = spec.unit, below = spec.below;
      if (raw instanceof PyInt && raw.v > -INT_LIMIT && raw.v < INT_LIMIT &&
          (unit === null || (unit.scale.n === unit.scale.d && unit.offset.n === 0n)) &&
          !(below && raw.v > 0n && cmp(Q(raw.v), below) < 0)) value = given = Q(raw.v);
      else {
        var got;
        try { got = split(spec, raw); } catch (e) {
          if (e instanceof UnitError) throw new InputError(spec.id, raw, e.message + "; give " + spec.allowed);
          throw e;
        }
        given = got[0];
        if (got[1] !== null || spec.dim === "percent") unit = got[1];
        else if (below && cmp(given, ZERO) > 0 && cmp(given, below) < 0) ambiguous(spec, raw, given);
        value = unit ? toBase(given, unit) : given;
      }
      if (!within(spec, value)) throw new InputError(spec.id, raw, spec.allowed);
      return [value, given, unit];
    }
    function ambiguous(spec, raw, number) {
      var readings = [[reading(spec, number, spec.unit), spec.unit]];
      spec.readings.forEach(function (name) {
        var other = units[name];
        if (other !== spec.unit && within(spec, toBase(number, other))) readings.push([reading(spec, number, other), other]);
      });
      if (readings.length < 2) return;
      var example = readings.slice(1).concat(readings.slice(0, 1)).map(function (r) {
        return "'" + formatNumber(number).replace(/,/g, "") + " " + r[1].name + "'";
      }).join(" or ");
      var e = new InputError(spec.id, raw, "a number with its unit, e.g. " + example);
      e.message = show(spec.id) + ": " + shownValue(raw) + " is ambiguous: " + readings.map(function (r) { return r[0]; }).join(" or ") +
        "? Write the unit, e.g. " + example;
      throw e;
    }
    function reading(spec, number, unit) {
      var base = toBase(number, unit), text = formatNumber(number) + " " + unit.symbol;
      if (unit !== spec.unit) text += " = " + formatNumber(fromBase(base, spec.unit)) + " " + spec.unit.symbol;
      if (spec.id === data.severity.input) {
        var band = bands.filter(function (b) { return (b[1] === null || cmp(base, b[1]) >= 0) && (b[2] === null || cmp(base, b[2]) < 0); })[0];
        text += " (" + (band ? band[3] : "outside the bands") + ")";
      }
      return text;
    }
    function readBool(spec, raw) {
      if (raw === true || raw === false) return raw;
      var t = typeof raw === "string" ? strip(raw).toLowerCase() : raw instanceof PyInt && (raw.v === 0n || raw.v === 1n) ? raw.v.toString() : "";
      if (["true", "yes", "y", "1"].indexOf(t) >= 0) return true;
      if (["false", "no", "n", "0"].indexOf(t) >= 0) return false;
      throw new InputError(spec.id, raw, "true or false (yes/no)");
    }
    function readSymptoms(raw) {
      var items;
      if (typeof raw === "string" && strip(raw).toLowerCase() === "none") return new Set();
      if (typeof raw === "string") items = raw.replace(/[;|]/g, ",").split(",").map(strip).filter(Boolean);
      else if (Array.isArray(raw)) items = raw;
      else throw new InputError("symptoms", raw, "a list of symptom ids, e.g. [fever, cough]");
      items.forEach(function (item) {
        if (typeof item !== "string")
          throw new InputError("symptoms", raw, "a list of symptom ids (words), e.g. [fever, cough]; " + show(pyRepr(item, 3)) + " is not a word");
        if (!symptoms.has(item))
          throw new InputError("symptoms", item, "it is not a symptom id" + (didYouMean(item, data.symptoms) || ".") +
            " The symptoms are " + data.symptoms.slice().sort(byCodePoint).join(", "));
      });
      return new Set(items);
    }
    /* patient._read_detail: a name (printable, one line, up to 100 characters) or a test date. */
    function readDetail(key, raw) {
      if (key === "name") {
        if (typeof raw !== "string" || !strip(raw) || longer(raw, 100) ||
            chars(raw).some(function (ch) { return ch !== " " && NONPRINT.test(ch); }))
          throw new InputError(key, raw, "a name as text, up to 100 characters, on one line");
        return;
      }
      var t = typeof raw === "string" ? strip(raw) : "", m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(t);
      var y = m && +m[1], leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
      if (!m || y < 1 || +m[3] < 1 || +m[3] > ([31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][+m[2] - 1] || 0))
        throw new InputError(key, raw, "a date written YYYY-MM-DD, e.g. 2026-12-01");
    }

    /* patient.PatientParser.parse: values in base units; missing inputs absent. */
    function readPatient(raw) {
      if (!isMap(raw))
        throw new InputError("patient", raw, "a mapping of input names to values, e.g. {anc: 800, temperature: 38.2}");
      var values = new Map(), given = new Map();
      raw.forEach(function (item, key) {
        var spec = byId.get(key);
        if (spec === undefined) {
          if (data.passthrough.indexOf(key) >= 0) {
            if (key !== "id" && item !== null && item !== "") readDetail(key, item);
            return;
          }
          throw new InputError(key, item, "it is not an input" + (didYouMean(key, names) || ".") + " The inputs are " + names.join(", "));
        }
        if (item === null || (typeof item === "string" && !strip(item))) return;  // not given
        var t = spec.type;
        if (t === "symptoms") values.set(key, readSymptoms(item));
        else if (t === "boolean") values.set(key, readBool(spec, item));
        else if (t === "quantity" || t === "percent" || t === "number") {
          var got = readNumber(spec, item);
          values.set(key, got[0]);
          given.set(key, got.slice(1));
        } else throw new InputError(key, item, "an input of type " + t + " (not supported)");
      });
      data.derived.forEach(function (fill) {
        var parts = fill.add_up_to_100;
        if (parts.some(function (p) { return values.has(p); })) {
          var total = parts.reduce(function (s, p) { return values.has(p) ? add(s, values.get(p)) : s; }, ZERO);
          if (cmp(total, HUNDRED) > 0)
            throw new InputError(parts.join(" + "), parts.map(function (p) { return pyStr(raw.has(p) ? raw.get(p) : null); }).join(" + "),
              "percentages that add up to 100 or less");
        }
        if (values.has(fill.input)) checkGiven(fill, values, given, raw);
        else if (fill.when_given.every(function (p) { return values.has(p); }))
          values.set(fill.input, value(fill.expr, { values: values, zero: true }));
      });
      if (!data.read.some(function (n) { return values.has(n); }))
        throw new InputError("patient", raw, "at least one answer the rules read: " + data.read_words);
      return values;
    }

    /* plausible.check_given: a derived input given directly must be able to be true with the
       inputs its formula reads, each number counting as the range it may be rounded from. */
    function writtenRange(values, given, name) {
      var v = values.get(name), g = given.get(name);
      if (!g) return [v, v];
      var p = places(g[0], 30);
      if (p < 0) return [v, v];
      var half = Q(1n, 2n * 10n ** BigInt(p));
      if (g[1]) half = sub(toBase(add(g[0], half), g[1]), toBase(g[0], g[1]));
      return [sub(v, half), add(v, half)];
    }
    function interval(node, ranges) {
      if (node[0] === "n") { var c = qText(node[1]); return [c, c]; }
      if (node[0] === "i") return ranges.get(node[1]);
      var L = interval(node[2], ranges), R = interval(node[3], ranges), a = L[0], b = L[1], lo = R[0], hi = R[1];
      if (node[1] === "+") return [add(a, lo), add(b, hi)];
      if (node[1] === "-") return [sub(a, hi), sub(b, lo)];
      if (node[1] === "/") { var t = div(ONE, hi); hi = div(ONE, lo); lo = t; }
      var ends = [mul(a, lo), mul(a, hi), mul(b, lo), mul(b, hi)].sort(cmp);
      return [ends[0], ends[3]];
    }
    function checkGiven(fill, values, given, raw) {
      var has = function (n) { return values.has(n); }, parts = fill.add_up_to_100;
      if (!fill.inputs.some(has)) return;
      var ranges = new Map(), exactly = null, spread = new Map();
      fill.inputs.filter(has).forEach(function (n) { ranges.set(n, writtenRange(values, given, n)); });
      if (fill.when_given.every(has)) {
        var point = new Map();
        fill.inputs.forEach(function (n) { var v = has(n) ? values.get(n) : ZERO; point.set(n, [v, v]); if (!has(n)) spread.set(n, [ZERO, ZERO]); });
        exactly = interval(fill.expr, point)[0];
      } else if (parts.length && fill.when_given.every(function (n) { return parts.indexOf(n) >= 0 || has(n); })) {
        var room = parts.filter(has).reduce(function (s, n) { return sub(s, ranges.get(n)[0]); }, HUNDRED);
        parts.filter(function (n) { return !has(n); }).forEach(function (n, i) {
          spread.set(n, [ZERO, i === 0 && cmp(room, ZERO) > 0 ? room : ZERO]);
        });
      } else return;
      spread.forEach(function (v, k) { ranges.set(k, v); });
      var lh = interval(fill.expr, ranges), low = lh[0], high = lh[1], mine = writtenRange(values, given, fill.input);
      if (cmp(mine[1], low) >= 0 && cmp(mine[0], high) <= 0) return;
      var unit = byId.get(fill.input).unit;
      var number = function (q) { return formatNumber(q) + (unit ? " " + unit.symbol : ""); };
      var formula = fill.formula.replace(/[a-z][a-z0-9_]*/g, function (n) {
        if (fill.inputs.indexOf(n) < 0) return n;
        if (has(n)) { var r = raw.has(n) ? raw.get(n) : null; return n + " " + show(typeof r === "string" ? r : pyRepr(r, 3), 20); }
        return exactly !== null ? n + " 0" : n;
      }).split(" * ").join(" \u00d7 ");
      var what = exactly !== null ?
        formula + " is " + number(exactly) + " (" + number(low) + " to " + number(high) + " allowing for rounding)" :
        fill.input + " is " + formula + ", and the percents add up to 100 or less, so it is at most " + number(high) + " (at least " + number(low) + ") allowing for rounding";
      throw new InputError(fill.input, raw.has(fill.input) ? raw.get(fill.input) : null,
        "a value that can be true with the other results given: " + what + "; check both numbers and their units, or give only one of them");
    }

    // Conditions: ["n", "p/q"] number, ["b", bool], ["k", band], ["i", input], ["f", fact],
    // ["sev"], ["a", op, l, r], ["cmp", op, l, r], ["and", [..]], ["or", [..]], ["not", x],
    // ["in", v, [ids]], ["sym", [ids]], ["any"], ["known", input].
    function value(node, env) {
      switch (node[0]) {
        case "n": return constants[node[1]] || (constants[node[1]] = qText(node[1]));
        case "b": case "k": return node[1];
        case "i": return env.values.has(node[1]) ? env.values.get(node[1]) : (env.zero ? ZERO : null);
        case "f": return env.facts[node[1]];
        case "sev": return env.sev;
        case "a":
          var l = value(node[2], env), r = value(node[3], env);
          if (l === null || r === null) return null;
          return node[1] === "+" ? add(l, r) : node[1] === "-" ? sub(l, r) : node[1] === "*" ? mul(l, r) : div(l, r);
        default: return tri(node, env);
      }
    }
    function tri(node, env) {
      var v, unknown = false, k;
      switch (node[0]) {
        case "and": case "or":
          var stop = node[0] === "or";
          for (k = 0; k < node[1].length; k++) {
            v = tri(node[1][k], env);
            if (v === stop) return stop;
            if (v === null) unknown = true;
          }
          return unknown ? null : !stop;
        case "not": v = tri(node[1], env); return v === null ? null : !v;
        case "known": return env.values.has(node[1]);
        case "any": v = env.values.get("symptoms"); return v === undefined ? null : v.size > 0;
        case "sym":
          v = env.values.get("symptoms");
          return v === undefined ? null : node[1].some(function (s) { return v.has(s); });
        case "in": v = value(node[1], env); return v === null ? null : node[2].indexOf(v) >= 0;
        case "cmp":
          var a = value(node[2], env), b = value(node[3], env);
          if (a === null || b === null) return null;
          var c = typeof a === "object" ? cmp(a, b) : (a === b ? 0 : NaN), op = node[1];
          return op === "==" ? c === 0 : op === "!=" ? c !== 0 : op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
        case "i": case "f": case "b":
          v = value(node, env);
          return v === undefined ? null : v;
      }
      throw new Error("neutropenia-kb: unknown condition " + node[0]);
    }

    /* The program on values in base units: severity band, facts, limits, rules, and the level
       decided on what is known (lt) and the cautious one. */
    function core(values) {
      var env = { values: values, facts: {}, sev: null };
      var anc = values.get(data.severity.input);
      if (anc !== undefined) {
        bands.forEach(function (band) {
          if ((band[1] === null || cmp(anc, band[1]) >= 0) && (band[2] === null || cmp(anc, band[2]) < 0)) env.sev = band[0];
        });
      }
      data.facts.forEach(function (f) { env.facts[f[0]] = tri(f[1], env); });
      var rules = data.rules.map(function (r) { return tri(r[2], env); });
      var n = data.levels.length, lt = Math.max(n - 1, 0), lu = n;
      data.rules.forEach(function (r, i) {
        if (rules[i] === true && r[1] < lt) lt = r[1];
        if (rules[i] === null && r[1] < lu) lu = r[1];
      });
      return { env: env, rules: rules, lt: lt, level: Math.min(lt, lu), certain: lt <= lu };
    }

    /* questions.Analysis: of the missing inputs an unknown rule reads, those some answer to
       which can change the level (each input's values fall into regions no condition tells
       apart, so one value per region stands for all). */
    var regions = {};
    Object.keys(data.regions).forEach(function (name) {
      var r = data.regions[name], vs = r.v;
      if (r.k === "number") vs = vs.map(qText);
      else if (r.k === "symptoms") {
        var all = vs.length <= 12, sets = [new Set()];
        for (var bits = 1; bits < 1 << vs.length; bits++) {
          if (!all && (bits & (bits - 1))) continue;
          sets.push(new Set(vs.filter(function (_, i) { return bits & (1 << i); })));
        }
        vs = sets;
      }
      regions[name] = r.o ? null : vs;
    });
    function setting(values, name, v) { var m = new Map(values); m.set(name, v); return m; }
    function branches(values, others, test) {
      if (core(values).certain) return false;
      if (!others.length) return test(values);
      var first = others[0], rest = others.slice(1);
      return (regions[first] || []).some(function (v) { return branches(setting(values, first, v), rest, test); });
    }
    function matters(values, name, missing) {
      var own = regions[name];
      if (!own) return true;
      return branches(values, missing.filter(function (n) { return n !== name; }), function (filled) {
        var seen = new Set(own.map(function (v) { return core(setting(filled, name, v)).lt; }));
        return seen.size > 1;
      });
    }

    function decide(values) {
      var c = core(values), env = c.env, settle = [];
      var scope = data.limits.map(function (l) { return [l[0], tri(l[1], env)]; }).filter(function (s) { return s[1] === true; });
      if (!c.certain) {
        data.rules.forEach(function (r, i) {
          if (c.rules[i] === null && r[1] < c.lt) r[3].forEach(function (name) {
            if (!values.has(name) && settle.indexOf(name) < 0) settle.push(name);
          });
        });
        settle = settle.filter(function (name, _, all) { return matters(values, name, all); });
      }
      var questions = [];
      settle.forEach(function (name) {  // questions.Analysis._questions, without the words
        var own = regions[name], kind = data.regions[name].k, run = null;
        if (!own) return;
        var raised = own.map(function (v) {
          var lv = kind === "symptoms" && v.size > 1 ? null : core(setting(values, name, v)).lt;
          return lv !== null && lv < c.lt ? lv : null;
        });
        if (kind === "symptoms") raised = Array.from(new Set(raised.filter(function (lv) { return lv !== null; }))).sort(function (a, b) { return a - b; });
        else if (kind === "number") raised = raised.concat([null]).map(function (lv) {  // runs of one level
          var done = run !== null && lv !== run ? run : null;
          if (done !== null || lv === null) run = null;
          if (lv !== null) run = lv;
          return done;
        });
        raised.forEach(function (lv) { if (lv !== null) questions.push([lv, name]); });
      });
      questions.sort(function (a, b) { return a[0] - b[0]; });
      var advice = adviceSorted.filter(function (a) { return a[1] === null || tri(a[1], env) !== false; })
        .map(function (a) { return a[0]; });
      var levels = data.levels.concat([data.levels[data.levels.length - 1] || "routine"]);
      var anc = values.get(data.severity.input);
      var result = {
        kb: data.kb,
        severity: (!scope.length && env.sev) || "unknown",
        urgency: levels[c.level],
        urgency_certain: c.certain,
        fever: data.fever === null ? null : env.facts[data.fever]
      };
      if (anc !== undefined) result.anc_cells_per_ul = jsonNumber(anc);
      result.settle_with = settle;
      result.questions = questions.map(function (q) { return { input: q[1], level: data.levels[q[0]] }; });
      result.scope_warnings = scope.map(function (s) { return s[0]; });
      result.advice_ids = advice;
      // Not part of the JSON: each rule's value, for the checker page's reasons.
      Object.defineProperty(result, "rules", { value: data.rules.map(function (r, i) { return [r[0], c.rules[i]]; }) });
      return result;
    }

    return {
      version: data.kb,
      levels: data.levels.slice(),
      InputError: InputError,
      UsageError: UsageError,
      /* The JSON of `nkb evaluate --format json` without its wording: no `level` (its text),
         `inputs` or `findings`, and each question as {input, level} without its `question`
         and `if` text (the page words them from the authored text). ``patient``: an object,
         or JSON text (read exactly, as the CLI reads a file). Throws InputError (field,
         allowed, message) or UsageError for unreadable JSON. */
      evaluate: function (patient) {
        var raw = typeof patient === "string" ? parseJson(patient) : fromJs(patient, 0);
        return decide(readPatient(raw));
      }
    };
  }

  root.neutropeniaKbRuntime = { load: load };
})(typeof window !== "undefined" ? window : globalThis);
