#!/usr/bin/env python3
"""Generates core/src/cmd/command_table.rs from a running Redis 7.0 server.

Usage: gen_command_table.py /path/to/redis.sock > core/src/cmd/command_table.rs

It asks the server for COMMAND INFO and COMMAND DOCS (in RESP3) and writes one entry per
command and subcommand: what COMMAND INFO reports (arity, flags, key positions, ACL
categories, tips, key specifications) and all of COMMAND DOCS (summary, since, group,
complexity, doc flags, deprecation, history and the argument tree).

redish renders COMMAND DOCS in a fixed field order, Redis's (`addReplyCommandDocs`,
`addReplyCommandArgList`); the script checks that the server's replies follow that order
and hold no field the table has no room for, so a table it writes renders byte for byte.
"""
import socket
import sys


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = b""

    def _fill(self, pred):
        while not pred():
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def _line(self):
        self._fill(lambda: b"\r\n" in self.buf)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        self._fill(lambda: len(self.buf) >= n + 2)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"_":
            return None
        if t in (b"$", b"="):
            n = int(rest)
            data = self._bytes(n).decode()
            return data[4:] if t == b"=" else data
        if t in (b"*", b"~"):
            return [self.read() for _ in range(int(rest))]
        if t == b"%":
            return {self.read(): self.read() for _ in range(int(rest))}
        raise ValueError(line)

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()


def rs(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def strs(items):
    return "&[" + ", ".join(rs(i) for i in items) + "]"


def key_spec(k):
    b, f = k["begin_search"], k["find_keys"]
    if b["type"] == "index":
        begin = f"Begin::Index({b['spec']['index']})"
    elif b["type"] == "keyword":
        begin = f"Begin::Keyword({rs(b['spec']['keyword'])}, {b['spec']['startfrom']})"
    else:
        begin = "Begin::Unknown"
    if f["type"] == "range":
        s = f["spec"]
        find = f"Find::Range({s['lastkey']}, {s['keystep']}, {s['limit']})"
    elif f["type"] == "keynum":
        s = f["spec"]
        find = f"Find::Keynum({s['keynumidx']}, {s['firstkey']}, {s['keystep']})"
    else:
        find = "Find::Unknown"
    notes = rs(k.get("notes", ""))
    return f"KeySpec {{ notes: {notes}, flags: {strs(k['flags'])}, begin: {begin}, find: {find} }}"


# The fields of a COMMAND DOCS entry and of an argument, in the order Redis writes them.
DOC_KEYS = ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since",
            "replaced_by", "history", "arguments", "subcommands"]
ARG_KEYS = ["name", "type", "key_spec_index", "token", "since", "deprecated_since", "flags",
            "arguments"]
ARG_FLAGS = {"optional": "OPT", "multiple": "MUL", "multiple_token": "MTOK"}
ARG_TYPES = {"string": "Str", "integer": "Int", "double": "Double", "key": "Key",
             "pattern": "Pattern", "unix-time": "UnixTime", "pure-token": "PureToken",
             "oneof": "OneOf", "block": "Block"}


def in_order(keys, order, what):
    known = [k for k in order if k in keys]
    if list(keys) != known:
        raise ValueError(f"{what}: fields {list(keys)} are not in the order {order}")


def arg(a):
    in_order(a.keys(), ARG_KEYS, f"argument {a.get('name')}")
    flags = a.get("flags", [])
    in_order(flags, list(ARG_FLAGS), f"flags of argument {a['name']}")
    if ("arguments" in a) != (a["type"] in ("oneof", "block")):
        raise ValueError(f"argument {a['name']}: sub-arguments do not match its type")
    bits = " | ".join(ARG_FLAGS[f] for f in flags) or "0"
    subs = ", ".join(arg(s) for s in a.get("arguments", []))
    return (
        f"a!({rs(a['name'])}, {ARG_TYPES[a['type']]}, {a.get('key_spec_index', -1)}, "
        f"{rs(a.get('token', ''))}, {rs(a.get('since', ''))}, "
        f"{rs(a.get('deprecated_since', ''))}, {bits}, [{subs}])"
    )


def entry(info, doc):
    name, arity, flags, first, last, step, acl, tips, specs = info[:9]
    specs = "&[" + ", ".join(key_spec(k) for k in specs) + "]"
    in_order(doc.keys(), DOC_KEYS, f"docs of {name}")
    for field in ("complexity", "doc_flags", "history", "arguments"):
        # Absent and empty render alike in the table: make sure Redis never sends empty.
        if field in doc and not doc[field]:
            raise ValueError(f"docs of {name}: empty {field}")
    history = "&[" + ", ".join(f"({rs(v)}, {rs(t)})" for v, t in doc.get("history", [])) + "]"
    args = "&[" + ", ".join(arg(a) for a in doc.get("arguments", [])) + "]"
    return (
        f"    m!({rs(name)}, {arity}, {strs(flags)}, {first}, {last}, {step}, {strs(acl)}, "
        f"{strs(tips)}, {specs}, {rs(doc.get('summary', ''))}, {rs(doc.get('since', ''))}, "
        f"{rs(doc.get('group', ''))}, {rs(doc.get('complexity', ''))}, "
        f"{strs(doc.get('doc_flags', []))}, {rs(doc.get('deprecated_since', ''))}, "
        f"{rs(doc.get('replaced_by', ''))}, {history}, {args}),"
    )


def main():
    c = Conn(sys.argv[1])
    c.call("HELLO", "3")
    infos = c.call("COMMAND", "INFO")
    docs = c.call("COMMAND", "DOCS")
    version = c.call("INFO", "server").split("redis_version:")[1].split("\r\n")[0]
    rows = []
    for info in infos:
        doc = docs[info[0]]
        rows.append((info[0], entry(info, doc)))
        for sub in info[9]:
            rows.append((sub[0], entry(sub, doc.get("subcommands", {})[sub[0]])))
    rows.sort()
    print(f"// Generated by core/tools/gen_command_table.py from Redis {version}. Do not edit.")
    print("//")
    print("// Every command and subcommand of Redis, sorted by name, with what COMMAND INFO and")
    print("// COMMAND DOCS report about it. COMMAND shows the entries of the commands redish serves.")
    print()
    print("use super::command::{Arg, ArgType, Begin, CommandMeta, Find, KeySpec};")
    print("use super::command::{ARG_MULTIPLE as MUL, ARG_MULTIPLE_TOKEN as MTOK, ARG_OPTIONAL as OPT};")
    print()
    print("#[rustfmt::skip]")
    print("macro_rules! m {")
    print("    ($name:expr, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $acl:expr,")
    print("     $tips:expr, $specs:expr, $summary:expr, $since:expr, $group:expr, $complexity:expr,")
    print("     $doc_flags:expr, $deprecated_since:expr, $replaced_by:expr, $history:expr, $args:expr) => {")
    print("        CommandMeta {")
    print("            name: $name, arity: $arity, flags: $flags, first_key: $first, last_key: $last,")
    print("            step: $step, acl_categories: $acl, tips: $tips, key_specs: $specs,")
    print("            summary: $summary, since: $since, group: $group, complexity: $complexity,")
    print("            doc_flags: $doc_flags, deprecated_since: $deprecated_since,")
    print("            replaced_by: $replaced_by, history: $history, args: $args,")
    print("        }")
    print("    };")
    print("}")
    print()
    print("/// One argument: name, type, key spec index (-1: none), token, since, deprecated since,")
    print("/// flags, sub-arguments.")
    print("#[rustfmt::skip]")
    print("macro_rules! a {")
    print("    ($name:expr, $kind:ident, $key_spec:expr, $token:expr, $since:expr, $deprecated:expr,")
    print("     $flags:expr, [$($sub:expr),*]) => {")
    print("        Arg {")
    print("            name: $name, kind: ArgType::$kind, key_spec_index: $key_spec, token: $token,")
    print("            since: $since, deprecated_since: $deprecated, flags: $flags, args: &[$($sub),*],")
    print("        }")
    print("    };")
    print("}")
    print()
    print("/// Every Redis command and subcommand (`container|sub`), sorted by name.")
    print("#[rustfmt::skip]")
    print("pub(crate) static TABLE: &[CommandMeta] = &[")
    for _, row in rows:
        print(row)
    print("];")


main()
