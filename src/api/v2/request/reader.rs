//! A JSON object read field by field: its structure (`{`, keys, `:`, `,`, `}`) by this reader,
//! each field's value by serde_json or, for a tensor's `data`, only located (`span`), so that the
//! megabytes of a tensor's numbers are walked once, by `leaves`, and not first checked by
//! serde_json as well.

use serde::Deserialize;

/// A position in a JSON text, and the text.
pub(super) struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    /// Just past the last key read.
    key_end: usize,
}

/// What went wrong, and where: serde_json's wording, `at line L column C` of the whole text.
pub(super) type Error = String;

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a [u8]) -> Self {
        Reader {
            text,
            at: 0,
            key_end: 0,
        }
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
            None => Err(self.error_after("EOF while parsing a value")),
        }
    }

    /// An object here: `field` is called with each key, the reader at its value, which `field`
    /// must read. Anything but an object is refused as serde_json refuses it for a map.
    pub(super) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, String) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.peek() != Some(b'{') {
            type Map = std::collections::HashMap<String, serde::de::IgnoredAny>;
            return self.value::<Map>().map(drop);
        }
        self.at += 1;
        let mut first = true;
        loop {
            match self.peek() {
                Some(b'}') if first => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'"') => {}
                Some(b'}') => return Err(self.error("trailing comma")),
                Some(_) => return Err(self.error("key must be a string")),
                None => return Err(self.error_after("EOF while parsing an object")),
            }
            let key: String = self.value()?;
            self.key_end = self.at;
            match self.peek() {
                Some(b':') => self.at += 1,
                Some(_) => return Err(self.error("expected `:`")),
                None => return Err(self.error_after("EOF while parsing an object")),
            }
            field(self, key)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error_after("EOF while parsing an object")),
            }
            first = false;
        }
    }

    /// An array here: `item` is called with the reader at each item, which `item` must read.
    /// Anything but an array is refused as serde_json refuses it for a sequence.
    pub(super) fn array(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.peek() != Some(b'[') {
            return self.value::<Vec<serde::de::IgnoredAny>>().map(drop);
        }
        self.at += 1;
        let mut first = true;
        loop {
            match self.peek() {
                Some(b']') if first => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b']') => return Err(self.error("trailing comma")),
                None => return Err(self.error_after("EOF while parsing a list")),
                Some(_) => {}
            }
            item(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error_after("EOF while parsing a list")),
            }
            first = false;
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
        Err(self.error_after("EOF while parsing a list"))
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
        Err(self.error_after("EOF while parsing a string"))
    }

    /// Only whitespace is left.
    pub(super) fn end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters")),
        }
    }

    /// Where the reader is (a byte offset).
    pub(super) fn offset(&self) -> usize {
        self.at
    }

    /// `message` about byte `at` (not yet read).
    pub(super) fn error_at(&self, at: usize, message: &str) -> Error {
        format!("{message} at {}", self.position(at + 1))
    }

    /// `message` about the byte the reader is at (serde_json's place for a byte it peeked at).
    pub(super) fn error(&self, message: &str) -> Error {
        self.error_at(self.at, message)
    }

    /// `message` about what the reader has just read (serde_json's place for what it consumed).
    pub(super) fn error_after(&self, message: &str) -> Error {
        format!("{message} at {}", self.position(self.at))
    }

    /// `message` about the key just read (a duplicate field), placed as serde_json places it.
    pub(super) fn error_at_key(&self, message: &str) -> Error {
        format!("{message} at {}", self.position(self.key_end))
    }

    /// serde_json's error for the value that starts at `start`: its message, placed in the whole
    /// text (serde_json counts lines and columns from the value's start).
    fn serde_error(&self, start: usize, error: &serde_json::Error) -> Error {
        if error.line() == 0 {
            return error.to_string();
        }
        let message = crate::api::v2::leaves::serde_message(error);
        let before = &self.text[..start];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
        let (line, column) = match error.line() {
            // On the value's first line, its columns continue the line's.
            1 => (line, start - line_start + error.column()),
            more => (line + more - 1, error.column()),
        };
        format!("{message} at line {line} column {column}")
    }

    /// `line L column C` as serde_json says where it is after reading `read` bytes: the line's
    /// number from 1, and the bytes read on it.
    fn position(&self, read: usize) -> String {
        let before = &self.text[..read.min(self.text.len())];
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
        let line = memchr::memchr_iter(b'\n', &before[..line_start]).count() + 1;
        format!("line {line} column {}", before.len() - line_start)
    }
}
