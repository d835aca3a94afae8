//! Redis's glob patterns (`stringmatchlen`), used by PSUBSCRIBE, KEYS, SCAN MATCH and
//! CONFIG GET.
//!
//! `*` matches any run, `?` any one byte, `[abc]`, `[^abc]` and `[a-z]` a class, and `\x`
//! the byte `x` itself. A `[` with no closing `]` takes the rest of the pattern as its class,
//! as Redis does.

/// True if `text` matches `pattern`. With `nocase`, ASCII letters match either case.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    // Iterative matching with one backtrack point for the last `*`: linear in practice and,
    // unlike Redis's recursive version, never deep on the stack for patterns like `*a*a*a*b`.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, t));
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some(next) = match_class(pattern, p, text[t], nocase) {
                        p = next;
                        t += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], text[t], nocase) {
                        p += 2;
                        t += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, text[t], nocase) {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        // Mismatch: let the last `*` swallow one more byte, or fail.
        match star {
            Some((sp, st)) => {
                p = sp;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    a == b || (nocase && a.eq_ignore_ascii_case(&b))
}

/// Matches `c` against the class starting at `pattern[start] == b'['`. Returns the index just
/// past the class if it matches.
fn match_class(pattern: &[u8], start: usize, c: u8, nocase: bool) -> Option<usize> {
    let mut p = start + 1;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            None => break, // unterminated class: Redis treats the end as its close
            Some(b']') => {
                p += 1;
                break;
            }
            Some(b'\\') if p + 1 < pattern.len() => {
                matched |= eq(pattern[p + 1], c, nocase);
                p += 2;
            }
            Some(&lo) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let hi = pattern[p + 2];
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                let in_range = |x: u8| lo <= x && x <= hi;
                matched |= in_range(c)
                    || (nocase
                        && (in_range(c.to_ascii_lowercase()) || in_range(c.to_ascii_uppercase())));
                p += 3;
            }
            Some(&x) => {
                matched |= eq(x, c, nocase);
                p += 1;
            }
        }
    }
    (matched != negate).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "hllo", true),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h[a-b]llo", "hcllo", false),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("news.*", "news.art", true),
            ("news.*", "news", false),
            (
                "*a*a*a*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYYcZ", false),
            ("[abc", "b", true),
            ("", "", true),
            ("", "a", false),
            ("a", "", false),
        ];
        for &(p, t, want) in cases {
            assert_eq!(
                glob_match(p.as_bytes(), t.as_bytes(), false),
                want,
                "{p:?} ~ {t:?}"
            );
        }
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"MAX*", b"maxclients", true));
        assert!(!glob_match(b"MAX*", b"maxclients", false));
        assert!(glob_match(b"[A-C]x", b"bx", true));
    }
}
