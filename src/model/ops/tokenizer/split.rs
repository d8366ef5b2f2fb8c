//! The Tokenizer's evaluation of one string: its tokens as slices of it (nothing allocated per
//! token), by onnxruntime's three rules: every character, the text between separators (each
//! separator splitting the pieces the previous one left), or the matches of one expression.

use regex_automata::hybrid::dfa::Cache;

use super::pattern::Pattern;

/// How strings become tokens.
#[derive(Debug)]
pub enum Rule {
    /// Each character is a token (`tokenexp` "." or one empty separator).
    Chars,
    Separators(Vec<Pattern>),
    Expression(Box<Pattern>),
}

/// Scratch space reused across the strings of one evaluation.
pub struct Scratch<'t> {
    caches: Vec<Cache>,
    pieces: Vec<&'t str>,
}

impl Rule {
    pub fn scratch<'t>(&self) -> Scratch<'t> {
        let caches = match self {
            Rule::Chars => vec![],
            Rule::Separators(patterns) => patterns.iter().map(Pattern::cache).collect(),
            Rule::Expression(pattern) => vec![pattern.cache()],
        };
        Scratch {
            caches,
            pieces: Vec::new(),
        }
    }

    /// Appends the tokens of `text` with at least `min_chars` characters to `tokens`.
    pub fn split<'t>(
        &self,
        text: &'t str,
        min_chars: usize,
        scratch: &mut Scratch<'t>,
        tokens: &mut Vec<&'t str>,
    ) {
        let long_enough = |t: &str| t.chars().take(min_chars).count() >= min_chars;
        match self {
            Rule::Chars => tokens.extend(text.char_indices().map(|(at, c)| &text[at..at + c.len_utf8()])),
            Rule::Expression(pattern) => {
                let cache = &mut scratch.caches[0];
                let mut start = 0;
                while let Some((s, e)) = pattern.find_at(cache, text, start) {
                    let token = &text[s..e];
                    if !token.is_empty() && long_enough(token) {
                        tokens.push(token);
                        start = e;
                    } else {
                        // Too short: search again one character after where it began.
                        match next_char(text, s) {
                            Some(next) => start = next,
                            None => break,
                        }
                    }
                }
            }
            Rule::Separators(patterns) => {
                let first = tokens.len();
                tokens.push(text);
                for (pattern, cache) in patterns.iter().zip(&mut scratch.caches) {
                    scratch.pieces.clear();
                    scratch.pieces.extend(tokens.drain(first..));
                    for piece in &scratch.pieces {
                        separate(pattern, cache, piece, &long_enough, tokens);
                    }
                }
            }
        }
    }
}

/// The byte offset of the character after the one at `at`, `None` at the end.
fn next_char(text: &str, at: usize) -> Option<usize> {
    text[at..].chars().next().map(|c| at + c.len_utf8())
}

/// The text around the matches of one separator. An empty match drops the character after it,
/// and one at the very end ends the piece without its trailing text, as onnxruntime's loop does.
fn separate<'t>(
    pattern: &Pattern,
    cache: &mut Cache,
    piece: &'t str,
    long_enough: &impl Fn(&str) -> bool,
    tokens: &mut Vec<&'t str>,
) {
    let mut start = 0;
    loop {
        match pattern.find_at(cache, piece, start) {
            Some((s, e)) => {
                let token = &piece[start..s];
                if !token.is_empty() && long_enough(token) {
                    tokens.push(token);
                }
                if e > s {
                    start = e;
                } else {
                    match next_char(piece, s) {
                        Some(next) => start = next,
                        None => return,
                    }
                }
            }
            None => {
                let token = &piece[start..];
                if !token.is_empty() && long_enough(token) {
                    tokens.push(token);
                }
                return;
            }
        }
    }
}
