//! What the `cli` binary shares with tests: replies printed as redis-cli prints them, and
//! command lines split as redis-cli splits them.

use std::fmt::Write;

use redish_core::resp::Frame;

/// A reply as redis-cli shows it on a terminal: `OK`, `"bar"`, `(nil)`, `(integer) 1`,
/// `(error) ERR …`, numbered items for arrays, `=>` between map keys and values. Ends with a
/// newline.
///
/// ```
/// use redish_core::resp::Frame;
/// use tokio_adapter::cli::format_reply;
///
/// let reply = Frame::Array(vec![Frame::bulk("a"), Frame::Array(vec![Frame::Integer(1)])]);
/// assert_eq!(format_reply(&reply), "1) \"a\"\n2) 1) (integer) 1\n");
/// ```
pub fn format_reply(frame: &Frame) -> String {
    let mut out = String::new();
    format_tty(frame, "", &mut out);
    out
}

fn format_tty(frame: &Frame, prefix: &str, out: &mut String) {
    match frame {
        Frame::Simple(s) => {
            out.push_str(&String::from_utf8_lossy(s));
            out.push('\n');
        }
        Frame::Error(e) | Frame::BulkError(e) => {
            let _ = writeln!(out, "(error) {}", String::from_utf8_lossy(e));
        }
        Frame::Integer(n) => {
            let _ = writeln!(out, "(integer) {n}");
        }
        Frame::Bulk(b) => {
            quote(b, out);
            out.push('\n');
        }
        Frame::Verbatim { data, .. } => {
            out.push_str(&String::from_utf8_lossy(data));
            out.push('\n');
        }
        Frame::Null | Frame::NullArray => out.push_str("(nil)\n"),
        Frame::Boolean(b) => {
            let _ = writeln!(out, "({b})");
        }
        Frame::Double(x) => {
            let _ = writeln!(out, "(double) {}", double_text(*x));
        }
        Frame::BigNumber(n) => {
            let _ = writeln!(out, "(big number) {}", String::from_utf8_lossy(n));
        }
        Frame::Attribute { data, .. } => format_tty(data, prefix, out),
        Frame::Array(items) => format_items(
            items.iter().map(Entry::One),
            items.len(),
            ')',
            "(empty array)",
            prefix,
            out,
        ),
        Frame::Push(items) => format_items(
            items.iter().map(Entry::One),
            items.len(),
            ')',
            "(empty push)",
            prefix,
            out,
        ),
        Frame::Set(items) => format_items(
            items.iter().map(Entry::One),
            items.len(),
            '~',
            "(empty set)",
            prefix,
            out,
        ),
        Frame::Map(pairs) => format_items(
            pairs.iter().map(|(k, v)| Entry::Pair(k, v)),
            pairs.len(),
            '#',
            "(empty hash)",
            prefix,
            out,
        ),
    }
}

enum Entry<'a> {
    One(&'a Frame),
    Pair(&'a Frame, &'a Frame),
}

/// redis-cli's layout of aggregates: the index right-aligned to the widest one, nested
/// items indented under their parent's first item.
fn format_items<'a>(
    entries: impl Iterator<Item = Entry<'a>>,
    len: usize,
    separator: char,
    empty: &str,
    prefix: &str,
    out: &mut String,
) {
    if len == 0 {
        out.push_str(empty);
        out.push('\n');
        return;
    }
    let width = len.to_string().len();
    let nested_prefix = format!("{prefix}{}", " ".repeat(width + 2));
    for (i, entry) in entries.enumerate() {
        // The parent already wrote the prefix of the first line.
        let _ = write!(
            out,
            "{}{:>width$}{separator} ",
            if i == 0 { "" } else { prefix },
            i + 1
        );
        match entry {
            Entry::One(item) => format_tty(item, &nested_prefix, out),
            Entry::Pair(key, value) => {
                format_tty(key, &nested_prefix, out);
                out.pop();
                out.push_str(" => ");
                format_tty(value, &nested_prefix, out);
            }
        }
    }
}

/// A bulk string quoted as redis-cli does (`sdscatrepr`).
fn quote(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &c in bytes {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(char::from(c)),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push('"');
}

fn double_text(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        x.to_string()
    }
}

/// A reply as redis-cli prints it with `--raw` (or into a pipe): strings bare, integers as
/// digits, nil as an empty line, one line per array item.
pub fn format_raw(frame: &Frame) -> String {
    let mut out = String::new();
    raw(frame, &mut out);
    out
}

fn raw(frame: &Frame, out: &mut String) {
    match frame {
        Frame::Simple(s)
        | Frame::Error(s)
        | Frame::BulkError(s)
        | Frame::Bulk(s)
        | Frame::BigNumber(s) => {
            out.push_str(&String::from_utf8_lossy(s));
            out.push('\n');
        }
        Frame::Verbatim { data, .. } => {
            out.push_str(&String::from_utf8_lossy(data));
            out.push('\n');
        }
        Frame::Integer(n) => {
            let _ = writeln!(out, "{n}");
        }
        Frame::Null | Frame::NullArray => out.push('\n'),
        Frame::Boolean(b) => out.push_str(if *b { "1\n" } else { "0\n" }),
        Frame::Double(x) => {
            let _ = writeln!(out, "{}", double_text(*x));
        }
        Frame::Attribute { data, .. } => raw(data, out),
        Frame::Array(items) | Frame::Push(items) | Frame::Set(items) => {
            items.iter().for_each(|f| raw(f, out))
        }
        Frame::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            raw(k, out);
            raw(v, out);
        }),
    }
}

/// Splits a command line into arguments as redis-cli does (`sdssplitargs`): words separated
/// by spaces; `"…"` with backslash escapes (`\n`, `\r`, `\t`, `\b`, `\a`, `\xHH`, `\"`,
/// `\\`); `'…'` where only `\'` is an escape. A closing quote must end its word. Returns
/// `None` for unbalanced quotes.
///
/// ```
/// use tokio_adapter::cli::split_args;
/// let args = split_args(r#"set "a key" 'it''s'"#);
/// assert_eq!(args, None); // the quote after 'it' must end the word
/// let args = split_args(r#"set "a\tkey" 'it\'s'"#).unwrap();
/// assert_eq!(args, vec![b"set".to_vec(), b"a\tkey".to_vec(), b"it's".to_vec()]);
/// ```
pub fn split_args(line: &str) -> Option<Vec<Vec<u8>>> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            return Some(args);
        }
        let mut arg = Vec::new();
        match bytes[i] {
            b'"' => {
                i += 1;
                loop {
                    match *bytes.get(i)? {
                        b'\\'
                            if i + 3 < bytes.len()
                                && bytes[i + 1] == b'x'
                                && bytes[i + 2].is_ascii_hexdigit()
                                && bytes[i + 3].is_ascii_hexdigit() =>
                        {
                            let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).ok()?;
                            arg.push(u8::from_str_radix(hex, 16).ok()?);
                            i += 4;
                        }
                        b'\\' if i + 1 < bytes.len() => {
                            arg.push(match bytes[i + 1] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                c => c,
                            });
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            break;
                        }
                        c => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    match *bytes.get(i)? {
                        b'\\' if bytes.get(i + 1) == Some(&b'\'') => {
                            arg.push(b'\'');
                            i += 2;
                        }
                        b'\'' => {
                            i += 1;
                            break;
                        }
                        c => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
            }
            _ => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    arg.push(bytes[i]);
                    i += 1;
                }
                args.push(arg);
                continue;
            }
        }
        // A closing quote must be followed by a space or the end of the line.
        if i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            return None;
        }
        args.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Frame {
        Frame::bulk(s)
    }

    #[test]
    fn tty_format_like_redis_cli() {
        let cases: Vec<(Frame, &str)> = vec![
            (Frame::OK, "OK\n"),
            (b("bar"), "\"bar\"\n"),
            (b("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"\n"),
            (Frame::Null, "(nil)\n"),
            (Frame::NullArray, "(nil)\n"),
            (Frame::Integer(-3), "(integer) -3\n"),
            (
                Frame::error("ERR unknown command"),
                "(error) ERR unknown command\n",
            ),
            (Frame::Double(1.5), "(double) 1.5\n"),
            (Frame::Double(f64::INFINITY), "(double) inf\n"),
            (Frame::Boolean(true), "(true)\n"),
            (Frame::Array(vec![]), "(empty array)\n"),
            (Frame::Map(vec![]), "(empty hash)\n"),
            (Frame::Array(vec![b("a"), b("b")]), "1) \"a\"\n2) \"b\"\n"),
            (
                Frame::Array(vec![Frame::Array(vec![b("a"), b("b")]), b("c")]),
                "1) 1) \"a\"\n   2) \"b\"\n2) \"c\"\n",
            ),
            (
                Frame::Map(vec![
                    (b("server"), b("redish")),
                    (b("proto"), Frame::Integer(3)),
                ]),
                "1# \"server\" => \"redish\"\n2# \"proto\" => (integer) 3\n",
            ),
            (Frame::Set(vec![b("x")]), "1~ \"x\"\n"),
        ];
        for (frame, want) in cases {
            assert_eq!(format_reply(&frame), want, "{frame:?}");
        }
    }

    #[test]
    fn tty_indexes_align() {
        let items: Vec<Frame> = (0..10).map(Frame::Integer).collect();
        let text = format_reply(&Frame::Array(vec![Frame::Array(items)]));
        assert!(
            text.starts_with("1)  1) (integer) 0\n    2) (integer) 1\n"),
            "{text}"
        );
        assert!(text.ends_with("   10) (integer) 9\n"), "{text}");
    }

    #[test]
    fn raw_format() {
        assert_eq!(
            format_raw(&Frame::Array(vec![b("a"), Frame::Integer(1), Frame::Null])),
            "a\n1\n\n"
        );
    }

    #[test]
    fn split_args_cases() {
        let cases: Vec<(&str, Option<Vec<&[u8]>>)> = vec![
            ("", Some(vec![])),
            ("  get   foo  ", Some(vec![b"get", b"foo"])),
            (
                r#"set k "hello world""#,
                Some(vec![b"set", b"k", b"hello world"]),
            ),
            (r#"set k "a\x41\n""#, Some(vec![b"set", b"k", b"aA\n"])),
            (r#"set k 'a\'b'"#, Some(vec![b"set", b"k", b"a'b"])),
            (r#"set k 'a\nb'"#, Some(vec![b"set", b"k", b"a\\nb"])),
            (r#"set k "" x"#, Some(vec![b"set", b"k", b"", b"x"])),
            (r#"set k "open"#, None),
            (r#"set k "a"b"#, None),
            ("set k 'open", None),
        ];
        for (line, want) in cases {
            let got = split_args(line);
            let want = want.map(|v| v.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
            assert_eq!(got, want, "{line}");
        }
    }
}
