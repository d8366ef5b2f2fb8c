//! A JSON object read field by field: its structure (`{`, keys, `:`, `,`, `}`) by this reader,
//! each field's value by serde_json or, for a tensor's `data`, only located (`span`), so that the
//! megabytes of a tensor's numbers are walked once, by `leaves`, and not first checked by
//! serde_json as well.

use serde::Deserialize;

/// A position in a JSON text, and the text.
pub(super) struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

/// What went wrong, and where: serde_json's wording, `at line L column C` of the whole text.
pub(super) type Error = String;

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a [u8]) -> Self {
        Reader { text, at: 0 }
    }

    /// The next byte that is not whitespace (the reader stops at it).
    pub(super) fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.text.get(self.at) {
            self.at += 1;
        }
        self.text.get(self.at).copied()
    }

    /// One value here, by serde_json.
    pub(super) fn value<T: Deserialize<'a>>(&mut self) -> Result<T, Error> {
        self.peek();
        let start = self.at;
        let mut values = serde_json::Deserializer::from_slice(&self.text[start..]).into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                self.at = start + values.byte_offset();
                Ok(value)
            }
            Some(Err(error)) => Err(self.serde_error(start, &error)),
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    /// An object here: `field` is called with each key, the reader at its value, which `field`
    /// must read.
    pub(super) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, String) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.expect(b'{', "expected `{`")?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("key must be a string"));
            }
            let key: String = self.value()?;
            self.expect(b':', "expected `:`")?;
            field(self, key)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// An array here: `item` is called with the reader at each item, which `item` must read.
    pub(super) fn array(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.expect(b'[', "expected `[`")?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// The text of the value here, skipped over. An array is only matched bracket to bracket
    /// (strings skipped whole), not checked: its reader checks it as it walks it
    /// (`leaves::each_leaf`). Any other value is read by serde_json, and so checked.
    pub(super) fn span(&mut self) -> Result<&'a [u8], Error> {
        if self.peek() != Some(b'[') {
            let raw: &serde_json::value::RawValue = self.value()?;
            return Ok(raw.get().as_bytes());
        }
        let start = self.at;
        let mut depth = 0usize;
        while let Some(found) = memchr::memchr3(b'[', b']', b'"', &self.text[self.at..]) {
            let at = self.at + found;
            self.at = at + 1;
            match self.text[at] {
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(&self.text[start..self.at]);
                    }
                }
                _ => self.skip_string()?,
            }
        }
        self.at = self.text.len();
        Err(self.error("EOF while parsing a list"))
    }

    /// Past the string whose opening quote is just behind the reader.
    fn skip_string(&mut self) -> Result<(), Error> {
        while let Some(found) = memchr::memchr2(b'"', b'\\', &self.text[self.at..]) {
            let at = self.at + found;
            if self.text[at] == b'"' {
                self.at = at + 1;
                return Ok(());
            }
            // The escaped byte, whatever it is, does not end the string.
            self.at = (at + 2).min(self.text.len());
        }
        self.at = self.text.len();
        Err(self.error("EOF while parsing a string"))
    }

    /// Only whitespace is left.
    pub(super) fn end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters")),
        }
    }

    fn expect(&mut self, byte: u8, message: &str) -> Result<(), Error> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else if self.at == self.text.len() {
            Err(self.error("EOF while parsing an object"))
        } else {
            Err(self.error(message))
        }
    }

    /// `message` at the reader's place.
    pub(super) fn error(&self, message: &str) -> Error {
        format!("{message} at {}", self.place(self.at))
    }

    /// serde_json's error for the value that starts at `start`: its message, placed in the whole
    /// text (serde_json counts from the value's start).
    fn serde_error(&self, start: usize, error: &serde_json::Error) -> Error {
        let message = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let Some(message) = message.strip_suffix(&suffix) else {
            return message;
        };
        // Line and column (1-based; column 0 before the first byte of a line) within the value.
        let value = &self.text[start..];
        let line_start = match error.line() {
            0 | 1 => 0,
            line => memchr::memchr_iter(b'\n', value)
                .nth(line - 2)
                .map_or(value.len(), |newline| newline + 1),
        };
        let at = (start + line_start + error.column().saturating_sub(1)).min(self.text.len());
        format!("{message} at {}", self.place(at))
    }

    /// `line L column C` of byte `at` (serde_json's way: both from 1).
    fn place(&self, at: usize) -> String {
        let before = &self.text[..at.min(self.text.len())];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
        format!("line {line} column {}", at - line_start + 1)
    }
}
