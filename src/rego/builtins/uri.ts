/**
 * `uri.parse` and `uri.is_valid` over Go's `net/url.Parse`: scheme (lower-cased), host name and
 * port from the authority, the decoded path with its raw form, the raw query and the decoded
 * fragment; empty components are omitted and user info is validated but not returned.
 */
import { ObjectValue } from "../value/value.js";
import { argString } from "./args.js";
import { fromUtf8 } from "./gobase64.js";
import type { BuiltinTable } from "./types.js";

/** Go's url parse errors (the text is not surfaced: invalid input is undefined / false). */
class UrlError extends Error {}

interface GoUrl {
  scheme: string;
  opaque: string;
  host: string;
  path: string;
  rawPath: string;
  rawQuery: string;
  fragment: string;
}

type Mode = "path" | "host" | "fragment" | "userinfo";

const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);

/** Go's `shouldEscape` for the modes used while parsing. */
function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if (mode === "host") return !"-._~!$&'()*+,;=:[]<>\"".includes(c);
  if ("-_.~".includes(c)) return false;
  if ("$&+,/:;=?@".includes(c)) {
    if (mode === "path") return c === "?";
    if (mode === "userinfo") return c === "@" || c === "/" || c === "?" || c === ":";
    return false;
  }
  if (mode === "fragment") return !"!()*".includes(c);
  return true;
}

/** Go's `unescape`: `%XX` decoding with the mode's validity rules. */
function urlUnescape(s: string, mode: Mode): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h))
        throw new UrlError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      const v = Number.parseInt(h, 16);
      // In a host only non-ASCII (or %25 in a zone) may be escaped.
      if (mode === "host" && v < 0x80 && h !== "25")
        throw new UrlError(`invalid URL escape ${JSON.stringify(`%${h}`)}`);
      bytes.push(v);
      i += 2;
      continue;
    }
    if (mode === "host" && c.charCodeAt(0) < 0x80 && shouldEscape(c, "host")) {
      throw new UrlError(`invalid character ${JSON.stringify(c)} in host name`);
    }
    for (const b of enc.encode(c)) bytes.push(b);
  }
  return fromUtf8(Uint8Array.from(bytes));
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ["", raw];
      continue;
    }
    if (c === ":") {
      if (i === 0) throw new UrlError("missing protocol scheme");
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ["", raw];
  }
  return ["", raw];
}

function parseHost(host: string): string {
  if (host.startsWith("[")) {
    const end = host.lastIndexOf("]");
    if (end < 0) throw new UrlError("missing ']' in host");
    const port = host.slice(end + 1);
    if (port !== "" && !/^:[0-9]*$/.test(port))
      throw new UrlError(`invalid port ${JSON.stringify(port)} after host`);
    return urlUnescape(host.slice(0, end + 1), "host") + port;
  }
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && !/^:[0-9]*$/.test(host.slice(colon))) {
    throw new UrlError(`invalid port ${JSON.stringify(host.slice(colon))} after host`);
  }
  return urlUnescape(host, "host");
}

/** Go's `url.Parse`. */
export function parseGoUrl(rawURL: string): GoUrl {
  const hash = rawURL.indexOf("#");
  const u = hash < 0 ? rawURL : rawURL.slice(0, hash);
  const frag = hash < 0 ? "" : rawURL.slice(hash + 1);
  if (/[\x00-\x1f\x7f]/.test(rawURL))
    throw new UrlError("net/url: invalid control character in URL");
  const out: GoUrl = {
    scheme: "",
    opaque: "",
    host: "",
    path: "",
    rawPath: "",
    rawQuery: "",
    fragment: "",
  };
  if (frag !== "") out.fragment = urlUnescape(frag, "fragment");
  if (u === "*") {
    out.path = "*";
    return out;
  }
  let [scheme, rest] = getScheme(u);
  out.scheme = scheme.toLowerCase();
  if (rest.endsWith("?") && rest.split("?").length === 2) rest = rest.slice(0, -1);
  else {
    const q = rest.indexOf("?");
    if (q >= 0) {
      out.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith("/")) {
    if (out.scheme !== "") {
      out.opaque = rest;
      return out;
    }
    if ((rest.split("/")[0] as string).includes(":"))
      throw new UrlError("first path segment in URL cannot contain colon");
  }
  if (rest.startsWith("//") && (out.scheme !== "" || !rest.startsWith("///"))) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo))
        throw new UrlError("net/url: invalid userinfo");
      urlUnescape(userinfo, "userinfo");
    }
    out.host = parseHost(at >= 0 ? authority.slice(at + 1) : authority);
  }
  out.path = urlUnescape(rest, "path");
  out.rawPath = rest;
  return out;
}

/** Go's `URL.Hostname()` and `URL.Port()`. */
function splitHost(host: string): [string, string] {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return [host.slice(1, end), host.slice(end + 1).replace(/^:/, "")];
  }
  const colon = host.lastIndexOf(":");
  return colon < 0 ? [host, ""] : [host.slice(0, colon), host.slice(colon + 1)];
}

/** `uri.*` builtins. */
export const uriBuiltins: BuiltinTable = {
  "uri.parse": {
    arity: 1,
    fn: (args) => {
      let u: GoUrl;
      try {
        u = parseGoUrl(argString("uri.parse", args, 0));
      } catch (e) {
        if (e instanceof UrlError) return undefined;
        throw e;
      }
      const [hostname, port] = splitHost(u.host);
      const o = new ObjectValue();
      const put = (k: string, v: string) => {
        if (v !== "") o.set(k, v);
      };
      put("fragment", u.fragment);
      put("hostname", hostname);
      put("path", u.path);
      put("port", port);
      put("raw_path", u.rawPath);
      put("raw_query", u.rawQuery);
      put("scheme", u.scheme);
      return o;
    },
  },
  "uri.is_valid": {
    arity: 1,
    fn: ([s]) => {
      if (typeof s !== "string" || s === "") return false;
      try {
        parseGoUrl(s);
        return true;
      } catch (e) {
        if (e instanceof UrlError) return false;
        throw e;
      }
    },
  },
};
