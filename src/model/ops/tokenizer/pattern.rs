//! onnxruntime's regular expressions (RE2 with `longest_match`) in the `regex` crate: Perl classes
//! and word boundaries are ASCII in RE2 and Unicode here, so they are rewritten to their ASCII
//! sets; and RE2 answers the leftmost-longest match where `regex` answers the leftmost-first
//! one, so the end of each match is found again by a DFA that reports every match.
//!
//! skl2onnx's own pattern, `[a-zA-Z0-9_]+` (scikit-learn's default `token_pattern`), and any other
//! run of one ASCII class (`[...]+`) skip both: its leftmost-longest match is the first whole run
//! of the class's bytes, found by a byte table (two regular-expression searches a token cost about
//! half of a 1,000-document request, BENCHMARKS.md "Measured choices").

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
    /// For a run of one ASCII class, the class's bytes (non-ASCII bytes are never in it).
    class: Option<Box<[bool; 256]>>,
}

/// The bytes of `pattern` when it is a run of one ASCII class, `[...]+`: no escapes, nesting,
/// negation or non-ASCII characters in the class, nothing else in the pattern. Which bytes the
/// class holds is asked of the compiled expression itself, one ASCII character at a time.
fn ascii_run(pattern: &str, compiled: &regex::Regex) -> Option<Box<[bool; 256]>> {
    let class = pattern.strip_prefix('[')?.strip_suffix("]+")?;
    let plain = |c: char| c.is_ascii() && !matches!(c, '[' | ']' | '\\');
    if class.is_empty() || class.starts_with('^') || !class.chars().all(plain) {
        return None;
    }
    let mut bytes = Box::new([false; 256]);
    let mut buffer = [0u8; 4];
    for b in 0u8..128 {
        let one: &str = char::from(b).encode_utf8(&mut buffer);
        bytes[b as usize] = compiled.find(one).is_some_and(|m| m.range() == (0..1));
    }
    Some(bytes)
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
        let class = ascii_run(&pattern, &first);
        Ok(Pattern {
            first,
            longest,
            class,
        })
    }

    /// Scratch space for `find_at`, one per evaluation.
    pub fn cache(&self) -> Cache {
        self.longest.create_cache()
    }

    /// The leftmost-longest match at or after `start`, as byte offsets.
    pub fn find_at(&self, cache: &mut Cache, text: &str, start: usize) -> Option<(usize, usize)> {
        if let Some(class) = &self.class {
            // ASCII bytes only: a run starts and ends on character boundaries.
            let bytes = text.as_bytes().get(start..)?;
            let s = bytes.iter().position(|&b| class[b as usize])?;
            let e = bytes[s..]
                .iter()
                .position(|&b| !class[b as usize])
                .map_or(bytes.len(), |n| s + n);
            return Some((start + s, start + e));
        }
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
        matches_of(&Pattern::new(re2).unwrap(), text)
    }

    fn matches_of(pattern: &Pattern, text: &str) -> Vec<String> {
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

    #[test]
    fn runs_of_one_ascii_class_take_the_byte_table() {
        for (re2, run) in [
            ("[a-zA-Z0-9_]+", true),
            ("[!-}]+", true),
            ("[a-z-]+", true),
            ("[^a-z]+", false),
            ("[a-zé]+", false),
            (r"[\w]+", false),
            ("[a-z]+?", false),
            ("[[:alpha:]]+", false),
            ("(?i)[a-z]+", false),
            ("[a-z]*", false),
        ] {
            assert_eq!(Pattern::new(re2).unwrap().class.is_some(), run, "{re2}");
        }
        assert_eq!(matches("[a-z-]+", "ab-c Déf-g"), ["ab-c", "f-g"]);
    }

    proptest::proptest! {
        /// The byte table finds what the two searches find, on any text.
        #[test]
        fn the_byte_table_answers_as_the_expressions(
            text in "\\PC{0,40}|[a-zA-Z0-9_ ,.;\u{e9}\u{1F642}-]{0,40}",
            re2 in proptest::sample::select(vec!["[a-zA-Z0-9_]+", "[a-z-]+", "[!-}]+", "[ ,]+"]),
        ) {
            let fast = Pattern::new(re2).unwrap();
            let mut general = Pattern::new(re2).unwrap();
            proptest::prop_assert!(general.class.take().is_some());
            proptest::prop_assert_eq!(matches_of(&fast, &text), matches_of(&general, &text));
            let mut cache = fast.cache();
            for start in (0..=text.len()).filter(|&at| text.is_char_boundary(at)) {
                proptest::prop_assert_eq!(
                    fast.find_at(&mut cache, &text, start),
                    general.find_at(&mut cache, &text, start)
                );
            }
        }
    }
}
