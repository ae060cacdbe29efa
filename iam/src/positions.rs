//! Where each statement of a policy document lies in its text, as the policy simulator reports it
//! (`StartPosition` / `EndPosition` of a matched statement).
//!
//! IAM reports the position just after the statement's opening brace and just after its closing brace
//! (lines and columns from 1): AWS's own example, `{"Version":"2012-10-17","Statement":{...}}` on one line
//! with the statement's `{` as the 37th character and its `}` as the 166th, answers Column 38 and 167.

/// A line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// (start, end) of each statement in document order; empty when the text is not the shape expected
/// (callers then report no positions rather than wrong ones).
pub(crate) fn statement_positions(doc: &str) -> Vec<(Position, Position)> {
    let mut s = Scanner::new(doc);
    s.statements().unwrap_or_default()
}

struct Scanner {
    chars: Vec<char>,
    i: usize,
    line: u32,
    column: u32,
}

impl Scanner {
    fn new(doc: &str) -> Self {
        Scanner {
            chars: doc.chars().collect(),
            i: 0,
            line: 1,
            column: 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn here(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.ws();
        (self.bump()? == c).then_some(())
    }

    /// A string literal (the opening quote next), returned with escapes left as written.
    fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    out.push('\\');
                    out.push(self.bump()?);
                }
                c => out.push(c),
            }
        }
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            '"' => self.string().map(|_| ()),
            '{' | '[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        '"' => {
                            self.string()?;
                            continue;
                        }
                        '{' | '[' => depth += 1,
                        '}' | ']' => depth -= 1,
                        _ => {}
                    }
                    self.bump();
                    if depth == 0 {
                        return Some(());
                    }
                }
            }
            _ => {
                while self
                    .peek()
                    .is_some_and(|c| !(c.is_whitespace() || matches!(c, ',' | '}' | ']')))
                {
                    self.bump();
                }
                Some(())
            }
        }
    }

    /// One statement object: the positions after its `{` and after its `}`.
    fn statement(&mut self) -> Option<(Position, Position)> {
        self.expect('{')?;
        let start = self.here();
        // Back up over the brace so `value` skips the whole object.
        self.i -= 1;
        self.column -= 1;
        self.value()?;
        Some((start, self.here()))
    }

    fn statements(&mut self) -> Option<Vec<(Position, Position)>> {
        self.expect('{')?;
        let mut found = None;
        loop {
            self.ws();
            if self.peek()? == '}' {
                return found;
            }
            let key = self.string()?;
            self.expect(':')?;
            self.ws();
            if key == "Statement" {
                let mut list = Vec::new();
                if self.peek()? == '[' {
                    self.bump();
                    loop {
                        self.ws();
                        match self.peek()? {
                            ']' => {
                                self.bump();
                                break;
                            }
                            ',' => {
                                self.bump();
                            }
                            '{' => list.push(self.statement()?),
                            _ => return None,
                        }
                    }
                } else {
                    list.push(self.statement()?);
                }
                found = Some(list);
            } else {
                self.value()?;
            }
            self.ws();
            if self.peek()? == ',' {
                self.bump();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn aws_example_on_one_line() {
        // The simulate-custom-policy example of AWS's CLI reference: Column 38 to 167.
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
        assert_eq!(statement_positions(doc), [(p(1, 38), p(1, 167))]);
    }

    #[test]
    fn pretty_printed_array_with_tricky_strings() {
        let doc = "{\n  \"Id\": \"x}{[\\\"\",\n  \"Statement\": [\n    {\n      \"Sid\": \"a{\",\n      \"Effect\": \"Allow\",\n      \"Action\": [\"s3:*\"],\n      \"Resource\": \"*\"\n    },\n    {\"Effect\":\"Deny\",\"Action\":\"s3:Get*\",\"Resource\":\"*\"}\n  ],\n  \"Version\": \"2012-10-17\"\n}";
        assert_eq!(
            statement_positions(doc),
            [(p(4, 6), p(9, 6)), (p(10, 6), p(10, 56))]
        );
    }

    #[test]
    fn not_a_policy() {
        assert!(statement_positions("[1]").is_empty());
        assert!(statement_positions("{\"Statement\": 3}").is_empty());
        assert!(statement_positions("{\"Statement\": [{").is_empty());
    }
}
