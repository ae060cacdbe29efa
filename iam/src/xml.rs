//! A small XML writer for IAM results (text escaped, documents URL-encoded as IAM does).

/// Builds the inside of a `<{Action}Result>` element.
#[derive(Debug, Default)]
pub(crate) struct Xml(pub(crate) String);

impl Xml {
    pub(crate) fn new() -> Self {
        Xml(String::with_capacity(512))
    }
    pub(crate) fn open(&mut self, tag: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }
    pub(crate) fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }
    /// `<tag>escaped text</tag>`
    pub(crate) fn el(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        escape_into(&mut self.0, text);
        self.close(tag)
    }
    pub(crate) fn opt(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.el(tag, t);
        }
        self
    }
    /// A policy document as IAM returns it: URL-encoded JSON.
    pub(crate) fn doc(&mut self, tag: &str, json: &str) -> &mut Self {
        let enc = urlencoding::encode(json);
        self.el(tag, &enc)
    }
    pub(crate) fn date(&mut self, tag: &str, ms: i64) -> &mut Self {
        self.el(tag, &iso_date(ms))
    }
    pub(crate) fn bool(&mut self, tag: &str, v: bool) -> &mut Self {
        self.el(tag, if v { "true" } else { "false" })
    }
    /// `<IsTruncated>` and, when truncated, `<Marker>`.
    pub(crate) fn truncation(&mut self, next_marker: Option<&str>) -> &mut Self {
        self.bool("IsTruncated", next_marker.is_some());
        self.opt("Marker", next_marker)
    }
    /// `<Tags><member><Key/><Value/></member>...</Tags>`
    pub(crate) fn tags(&mut self, tags: &[(String, String)]) -> &mut Self {
        self.open("Tags");
        for (k, v) in tags {
            self.open("member")
                .el("Key", k)
                .el("Value", v)
                .close("member");
        }
        self.close("Tags")
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// `2012-05-08T23:34:01Z` (IAM's timestamp format).
pub(crate) fn iso_date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_dates() {
        let mut x = Xml::new();
        x.el("A", "<&>\"'").doc("D", "{\"a\": 1}");
        assert_eq!(
            x.0,
            "<A>&lt;&amp;&gt;&quot;&apos;</A><D>%7B%22a%22%3A%201%7D</D>"
        );
        assert_eq!(iso_date(1_336_519_641_000), "2012-05-08T23:27:21Z");
    }
}
