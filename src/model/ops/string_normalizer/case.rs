//! The StringNormalizer's evaluation: onnxruntime's case mapping (the C library's `towlower` and
//! `towupper`, one character to one character: Unicode's simple mappings, so `ß` stays `ß` and
//! `İ` becomes `i`) and its stop-word filter over whole strings.

use std::collections::HashSet;

/// What a string's case becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    Lower,
    Upper,
    None,
}

/// `c` in lower case, by the simple mapping: the only character whose full mapping has more
/// than one character (U+0130 `İ`, to `i` and a combining dot) maps to its first.
fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// `c` in upper case, by the simple mapping. Where the full mapping has several characters, the
/// simple one is the character itself except for the Greek letters with ypogegrammeni, which
/// map to their title-case forms.
fn upper(c: char) -> char {
    let mut full = c.to_uppercase();
    match (full.next(), full.next()) {
        (Some(one), None) => one,
        _ => match c as u32 {
            0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => char::from_u32(c as u32 + 8).unwrap_or(c),
            0x1FB3 | 0x1FC3 | 0x1FF3 => char::from_u32(c as u32 + 9).unwrap_or(c),
            _ => c,
        },
    }
}

/// `text` with its case changed, written into `out` (cleared first). ASCII text (the common
/// case) is copied and changed in place, byte by byte: ASCII letters map within ASCII, as the
/// simple mappings do.
pub fn change(case: Case, text: &str, out: &mut String) {
    out.clear();
    if case == Case::None || text.is_ascii() {
        out.push_str(text);
        match case {
            Case::Lower => out.make_ascii_lowercase(),
            Case::Upper => out.make_ascii_uppercase(),
            Case::None => {}
        }
        return;
    }
    let ascii_or = |c: char, ascii: fn(&char) -> char, other: fn(char) -> char| {
        if c.is_ascii() {
            ascii(&c)
        } else {
            other(c)
        }
    };
    match case {
        Case::Lower => out.extend(text.chars().map(|c| ascii_or(c, char::to_ascii_lowercase, lower))),
        Case::Upper => out.extend(text.chars().map(|c| ascii_or(c, char::to_ascii_uppercase, upper))),
        Case::None => {}
    }
}

/// The stop words and the case they are compared in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The case of the output.
    pub case: Case,
    /// Stop words as written (case-sensitive) or in `compare` case.
    pub stopwords: HashSet<String>,
    /// `None` when the comparison is case-sensitive.
    pub compare: Option<Case>,
}

impl Filter {
    /// The strings that are not stop words, in their new case; one empty string when none is
    /// left (onnxruntime's rule).
    pub fn apply<'a>(&self, strings: impl Iterator<Item = &'a String>) -> Vec<String> {
        let mut kept = Vec::new();
        let mut compared = String::new();
        for s in strings {
            let mut out = String::with_capacity(s.len());
            let keep = match (self.compare, self.case) {
                (None, _) => {
                    // Case-sensitive: the stop words are compared as written.
                    let keep = !self.stopwords.contains(s.as_str());
                    if keep {
                        change(self.case, s, &mut out);
                    }
                    keep
                }
                (Some(compare), Case::None) => {
                    change(compare, s, &mut compared);
                    let keep = !self.stopwords.contains(compared.as_str());
                    if keep {
                        out.push_str(s);
                    }
                    keep
                }
                // Case-insensitive with a case change: the compared form is the output (the
                // comparison is in the output's case).
                (Some(compare), _) => {
                    change(compare, s, &mut out);
                    self.stopwords.is_empty() || !self.stopwords.contains(out.as_str())
                }
            };
            if keep {
                kept.push(out);
            }
        }
        if kept.is_empty() {
            kept.push(String::new());
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_changes_one_character_to_one() {
        let mut out = String::new();
        change(Case::Upper, "straße ᾳ ŉ ﬀ ǅ ÿ ı", &mut out);
        assert_eq!(out, "STRAßE ᾼ ŉ ﬀ Ǆ Ÿ I");
        change(Case::Lower, "İSTANBUL ǅ Ωmega", &mut out);
        assert_eq!(out, "istanbul ǆ ωmega");
    }
}
