//! Wildcard patterns (`*`, `?`), ARN matching per ARN part, and policy variables (`${aws:username}`).

/// One element of a pattern after policy variables were substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchTok {
    /// A literal character.
    Char(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// One element of a pattern as written in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatTok {
    /// A literal character.
    Char(char),
    /// `*` wildcard.
    Star,
    /// `?` wildcard.
    One,
    /// `${key}` or `${key, 'default'}` (key lower-cased).
    Var {
        /// Condition key whose value is substituted, lower-cased.
        key: String,
        /// Value used when the key is absent.
        default: Option<String>,
    },
}

/// A policy string value parsed into literal characters, wildcards and policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The tokens.
    pub toks: Vec<PatTok>,
}

impl Template {
    /// Parses `s`; `${...}` is a variable only if `vars` (policy Version 2012-10-17) and well formed.
    pub fn parse(s: &str, vars: bool) -> Template {
        let chars: Vec<char> = s.chars().collect();
        let mut toks = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if vars
                && c == '$'
                && chars.get(i + 1) == Some(&'{')
                && let Some(close) = chars[i + 2..].iter().position(|&ch| ch == '}')
            {
                let inner: String = chars[i + 2..i + 2 + close].iter().collect();
                i += close + 3;
                match inner.trim() {
                    "*" => toks.push(PatTok::Char('*')),
                    "?" => toks.push(PatTok::Char('?')),
                    "$" => toks.push(PatTok::Char('$')),
                    other => {
                        let (key, default) = match other.split_once(',') {
                            Some((k, d)) => {
                                let d = d.trim();
                                let d = d
                                    .strip_prefix('\'')
                                    .and_then(|d| d.strip_suffix('\''))
                                    .unwrap_or(d);
                                (k.trim(), Some(d.to_string()))
                            }
                            None => (other, None),
                        };
                        toks.push(PatTok::Var {
                            key: key.to_ascii_lowercase(),
                            default,
                        });
                    }
                }
                continue;
            }
            toks.push(match c {
                '*' => PatTok::Star,
                '?' => PatTok::One,
                c => PatTok::Char(c),
            });
            i += 1;
        }
        Template { toks }
    }

    /// Whether the template uses a policy variable.
    pub fn has_vars(&self) -> bool {
        self.toks.iter().any(|t| matches!(t, PatTok::Var { .. }))
    }

    /// Whether the template uses the `?` wildcard.
    pub fn has_one(&self) -> bool {
        self.toks.iter().any(|t| matches!(t, PatTok::One))
    }

    /// Whether the template uses any wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.toks
            .iter()
            .any(|t| matches!(t, PatTok::One | PatTok::Star))
    }

    /// Substitutes variables through `lookup`; `None` if a variable has no value and no default
    /// (AWS: the element then does not match). Substituted text is literal, never a wildcard.
    pub fn instantiate(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Vec<MatchTok>> {
        let mut out = Vec::with_capacity(self.toks.len());
        for t in &self.toks {
            match t {
                PatTok::Char(c) => out.push(MatchTok::Char(*c)),
                PatTok::Star => out.push(MatchTok::Star),
                PatTok::One => out.push(MatchTok::One),
                PatTok::Var { key, default } => {
                    let v = lookup(key).or_else(|| default.clone())?;
                    out.extend(v.chars().map(MatchTok::Char));
                }
            }
        }
        Some(out)
    }

    /// The literal text with wildcards as written, if the template has no variables.
    pub fn literal_text(&self) -> Option<String> {
        let mut s = String::new();
        for t in &self.toks {
            match t {
                PatTok::Char(c) => s.push(*c),
                PatTok::Star => s.push('*'),
                PatTok::One => s.push('?'),
                PatTok::Var { .. } => return None,
            }
        }
        Some(s)
    }
}

fn eq_char(a: char, b: char, ci: bool) -> bool {
    if ci {
        a.to_lowercase().eq(b.to_lowercase())
    } else {
        a == b
    }
}

/// Glob match of tokens against text (`*` any run, `?` one char); linear-time backtracking,
/// without allocating (positions are byte offsets at char boundaries).
pub fn match_toks(toks: &[MatchTok], text: &str, ci: bool) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(ch) = text.get(s..).and_then(|r| r.chars().next()) {
        match toks.get(p) {
            Some(MatchTok::Star) => {
                star = Some((p, s));
                p += 1;
            }
            Some(MatchTok::One) => {
                p += 1;
                s += ch.len_utf8();
            }
            Some(MatchTok::Char(c)) if eq_char(*c, ch, ci) => {
                p += 1;
                s += ch.len_utf8();
            }
            _ => match star {
                Some((sp, ss)) => {
                    let step = text
                        .get(ss..)
                        .and_then(|r| r.chars().next())
                        .map_or(1, char::len_utf8);
                    p = sp + 1;
                    s = ss + step;
                    star = Some((sp, ss + step));
                }
                None => return false,
            },
        }
    }
    toks.get(p..)
        .unwrap_or(&[])
        .iter()
        .all(|t| *t == MatchTok::Star)
}

/// Tokens of a plain wildcard string (no variables).
pub fn plain_toks(pattern: &str) -> Vec<MatchTok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => MatchTok::Star,
            '?' => MatchTok::One,
            c => MatchTok::Char(c),
        })
        .collect()
}

/// Case-insensitive glob match of a plain pattern (used for action names).
pub fn glob_match_ci(pattern: &str, text: &str) -> bool {
    match_toks(&plain_toks(pattern), text, true)
}

/// Splits text into the six ARN parts (the resource part keeps its colons); `None` if not an ARN.
pub fn split_arn(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    let parts = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    Some(parts)
}

/// The common shape `arn:p:s:r:a:literal` with an optional trailing `*`, decided without splitting:
/// when the five part separators are all literal, the per-part match is a whole-string equality
/// (or prefix test, for the trailing `*` inside the last part). `None` for any other shape.
fn literal_arn_match(toks: &[MatchTok], value: &str) -> Option<bool> {
    let (lit, star) = match toks.split_last() {
        Some((MatchTok::Star, rest)) => (rest, true),
        _ => (toks, false),
    };
    let mut colons = 0;
    for t in lit {
        match t {
            MatchTok::Char(':') => colons += 1,
            MatchTok::Char(_) => {}
            _ => return None,
        }
    }
    if colons < 5 {
        return None;
    }
    let mut chars = value.chars();
    for t in lit {
        match chars.next() {
            Some(c) if *t == MatchTok::Char(c) => {}
            _ => return Some(false),
        }
    }
    Some(star || chars.next().is_none())
}

/// ARN match as `ArnLike` and the Resource element do it: each of the six parts separately, with
/// wildcards not crossing a part boundary (except in the final resource part). A lone `*` matches anything.
pub fn arn_match(toks: &[MatchTok], value: &str) -> bool {
    if toks.len() == 1 && toks[0] == MatchTok::Star {
        return true;
    }
    if let Some(hit) = literal_arn_match(toks, value) {
        return hit;
    }
    arn_match_parts(toks, value)
}

/// The general per-part ARN match (after the lone-`*` case).
fn arn_match_parts(toks: &[MatchTok], value: &str) -> bool {
    let Some(vparts) = split_arn(value) else {
        return false;
    };
    let mut segs: [&[MatchTok]; 6] = [&[]; 6];
    let mut n = 0;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if n < 5 && *t == MatchTok::Char(':') {
            segs[n] = &toks[start..i];
            n += 1;
            start = i + 1;
        }
    }
    if n < 5 {
        return false;
    }
    segs[5] = &toks[start..];
    segs.iter()
        .zip(vparts.iter())
        .all(|(p, v)| match_toks(p, v, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        match_toks(&plain_toks(p), t, false)
    }

    #[test]
    fn globbing() {
        assert!(m("*", ""));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbbd"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*x*y", "aaxbby"));
        assert!(!m("abc", "ABC"));
        assert!(match_toks(&plain_toks("abc"), "ABC", true));
        assert!(m("h?me/*/x", "home/a/b/x"));
    }

    #[test]
    fn variables() {
        let t = Template::parse("home/${aws:username}/${*}x${?}${$}", true);
        assert!(t.has_vars());
        let toks = t
            .instantiate(&|k| (k == "aws:username").then(|| "a*b".to_string()))
            .expect("value");
        assert!(match_toks(&toks, "home/a*b/*x?$", false));
        assert!(
            !match_toks(&toks, "home/aXb/*x?$", false),
            "substituted text is literal"
        );
        assert!(t.instantiate(&|_| None).is_none());
        let d = Template::parse("${aws:PrincipalTag/team, 'none'}", true);
        assert_eq!(d.instantiate(&|_| None), Some(plain_toks("none")));
        let legacy = Template::parse("${aws:username}", false);
        assert!(!legacy.has_vars());
        assert!(
            Template::parse("${unclosed", true)
                .toks
                .iter()
                .all(|t| matches!(t, PatTok::Char(_)))
        );
    }

    #[test]
    fn literal_shape_agrees_with_per_part_match() {
        let pats = [
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket",
            "arn:aws:s3:::",
            "arn:aws:s3:::*",
            "arn:aws:s3::bucket/*",
            "arn:aws:s3:::b:c*",
            "arn:aws:iam::1:role/x",
            "a:b:c:d:e:",
        ];
        let vals = [
            "arn:aws:s3:::bucket/a:b",
            "arn:aws:s3:::bucket",
            "arn:aws:s3:::bucket/",
            "arn:aws:s3:::bucketx",
            "arn:aws:s3:::",
            "arn:aws:s3::",
            "arn:aws:s3:::b:c",
            "arn:aws:s3:::b:cd:e",
            "arn:aws:iam::1:role/x",
            "a:b:c:d:e:",
            "a:b:c:d:e:f",
            "*",
            "",
        ];
        for p in pats {
            let toks = plain_toks(p);
            for v in vals {
                assert_eq!(arn_match(&toks, v), arn_match_parts(&toks, v), "{p} vs {v}");
            }
        }
    }

    #[test]
    fn arns() {
        let p = |s: &str| plain_toks(s);
        assert!(arn_match(
            &p("arn:aws:s3:::bucket/*"),
            "arn:aws:s3:::bucket/a:b/c"
        ));
        assert!(!arn_match(
            &p("arn:aws:s3:::bucket/*"),
            "arn:aws:s3:::other/a"
        ));
        assert!(arn_match(
            &p("arn:aws:iam::*:role/x"),
            "arn:aws:iam::123456789012:role/x"
        ));
        assert!(
            !arn_match(&p("arn:aws:iam::*:role/x"), "arn:aws:iam::1:2:role/x"),
            "* stays in its part"
        );
        assert!(!arn_match(&p("arn:aws:s3:::b"), "not-an-arn"));
        assert!(arn_match(&p("*"), "whatever"));
    }
}
