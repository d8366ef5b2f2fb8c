//! A JSON object read field by field: its structure (`{`, keys, `:`, `,`, `}`) by this reader,
//! each field's value by serde_json or, for a tensor's `data`, only located (`span`), so that the
//! megabytes of a tensor's numbers are walked once, by `leaves`, and not first checked by
//! serde_json as well. Its errors only say where it stopped: a body it refuses gets serde_json's
//! own message (`request::derived_error`).

use serde::Deserialize;

/// A position in a JSON text, and the text.
pub(super) struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

/// What went wrong, and where.
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

    /// One value here, by serde_json (whose error places it from the value's start).
    pub(super) fn value<T: Deserialize<'a>>(&mut self) -> Result<T, Error> {
        self.peek();
        let start = self.at;
        let mut values = serde_json::Deserializer::from_slice(&self.text[start..]).into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                self.at = start + values.byte_offset();
                Ok(value)
            }
            Some(Err(error)) => Err(error.to_string()),
            None => Err(self.error("a value was expected")),
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
        self.items(b'}', |reader| {
            if reader.peek() != Some(b'"') {
                return Err(reader.error("a key was expected"));
            }
            let key: String = reader.value()?;
            if reader.peek() != Some(b':') {
                return Err(reader.error("`:` was expected"));
            }
            reader.at += 1;
            field(reader, key)
        })
    }

    /// An array here: `item` is called with the reader at each item, which `item` must read.
    /// Anything but an array is refused as serde_json refuses it for a sequence.
    pub(super) fn array(&mut self, item: impl FnMut(&mut Self) -> Result<(), Error>) -> Result<(), Error> {
        if self.peek() != Some(b'[') {
            return self.value::<Vec<serde::de::IgnoredAny>>().map(drop);
        }
        self.items(b']', item)
    }

    /// The items of the object or array whose opening byte the reader is at, up to `close`.
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.at += 1;
        if self.peek() == Some(close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(byte) if byte == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error("`,` or the end was expected")),
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
        Err(self.error("the text ends in an array"))
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
        Err(self.error("the text ends in a string"))
    }

    /// Only whitespace is left.
    pub(super) fn end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters")),
        }
    }

    /// `message` at the reader's byte.
    pub(super) fn error(&self, message: &str) -> Error {
        format!("{message} at byte {}", self.at)
    }
}
