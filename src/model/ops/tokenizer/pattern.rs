//! onnxruntime's regular expressions (RE2 with `longest_match`) in the `regex` crate: Perl classes
//! and word boundaries are ASCII in RE2 and Unicode here, so they are rewritten to their ASCII
//! sets; and RE2 answers the leftmost-longest match where `regex` answers the leftmost-first
//! one, so the end of each match is found again by a DFA that reports every match.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Anchored, Input, MatchKind};
use tract_onnx::tract_hir::internal::*;

/// A pattern longer than this is refused (it is compiled twice, at start).
pub const MAX_PATTERN_BYTES: usize = 4096;

#[derive(Debug)]
pub struct Pattern {
    /// Finds where the leftmost match starts.
    first: regex::Regex,
    /// From there, the end of the longest match.
    longest: DFA,
}

/// `re2` in the `regex` crate's syntax, with RE2's ASCII meanings of `\w \d \s \b` kept.
fn translate(re2: &str) -> String {
    let mut out = String::with_capacity(re2.len() * 2);
    let mut chars = re2.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => match chars.next() {
                Some('w') => out.push_str("[0-9A-Za-z_]"),
                Some('W') => out.push_str("[^0-9A-Za-z_]"),
                Some('d') => out.push_str("[0-9]"),
                Some('D') => out.push_str("[^0-9]"),
                Some('s') => out.push_str("[\\t\\n\\x0C\\r ]"),
                Some('S') => out.push_str("[^\\t\\n\\x0C\\r ]"),
                Some('b') if !in_class => out.push_str("(?-u:\\b)"),
                Some('B') if !in_class => out.push_str("(?-u:\\B)"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
            }
            // A POSIX class such as [:alpha:] (ASCII in both).
            '[' if chars.peek() == Some(&':') => {
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            // Literal inside an RE2 class; nesting or set operators in `regex`.
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

impl Pattern {
    pub fn new(re2: &str) -> TractResult<Pattern> {
        if re2.len() > MAX_PATTERN_BYTES {
            bail!(
                "a regular expression of {} bytes (MAX_PATTERN_BYTES is {MAX_PATTERN_BYTES})",
                re2.len()
            );
        }
        let pattern = translate(re2);
        let first =
            regex::Regex::new(&pattern).map_err(|e| format_err!("regular expression {re2:?}: {e}"))?;
        let longest = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All))
            .build(&pattern)
            .map_err(|e| format_err!("regular expression {re2:?}: {e}"))?;
        Ok(Pattern { first, longest })
    }

    /// Scratch space for `find_at`, one per evaluation.
    pub fn cache(&self) -> Cache {
        self.longest.create_cache()
    }

    /// The leftmost-longest match at or after `start`, as byte offsets.
    pub fn find_at(&self, cache: &mut Cache, text: &str, start: usize) -> Option<(usize, usize)> {
        let first = self.first.find_at(text, start)?;
        let input = Input::new(text).range(first.start()..).anchored(Anchored::Yes);
        let end = match self.longest.try_search_fwd(cache, &input) {
            Ok(Some(end)) => end.offset().max(first.end()),
            // The lazy DFA gave up (a pathological pattern): the leftmost-first end.
            _ => first.end(),
        };
        Some((first.start(), end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(re2: &str, text: &str) -> Vec<String> {
        let pattern = Pattern::new(re2).unwrap();
        let mut cache = pattern.cache();
        let (mut at, mut found) = (0, vec![]);
        while let Some((s, e)) = pattern.find_at(&mut cache, text, at) {
            found.push(text[s..e].to_owned());
            at = if e > s { e } else { e + 1 };
            if at > text.len() {
                break;
            }
        }
        found
    }

    #[test]
    fn perl_classes_are_ascii_as_in_re2() {
        assert_eq!(matches(r"\w+", "naïve über"), ["na", "ve", "ber"]);
        assert_eq!(matches(r"[\w-]+", "a-b é"), ["a-b"]);
        assert_eq!(matches(r"[[]+", "a[[b"), ["[["]);
    }

    #[test]
    fn the_longest_alternative_wins_as_in_re2() {
        assert_eq!(matches(r"a|ab", "ab"), ["ab"]);
        assert_eq!(matches(r"\w+|\d\s\d", "1 2"), ["1 2"]);
    }
}
