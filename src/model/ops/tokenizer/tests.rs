use proptest::prelude::*;

use super::pattern::Pattern;
use super::*;

fn attributes(rule: Rule, mark: bool, min_chars: usize) -> Attributes {
    Attributes {
        rule,
        mark,
        pad: "#".into(),
        min_chars,
    }
}

proptest! {
    /// Any text, through each rule skl2onnx or a user can write, gives tokens that are pieces of
    /// it and a padded output of rows × width cells.
    #[test]
    fn random_strings_never_panic_the_tokenizer(
        strings in proptest::collection::vec("\\PC{0,40}|[a-z ,.;\u{e9}\u{1F642}]{0,40}", 1..6),
        min_chars in 1usize..4,
        mark: bool,
    ) {
        let rules = [
            Rule::Expression(Box::new(Pattern::new("[a-zA-Z0-9_]+").unwrap())),
            Rule::Expression(Box::new(Pattern::new(r"\b\w\w+\b|x*").unwrap())),
            Rule::Separators(vec![Pattern::new(" ").unwrap(), Pattern::new("[.,;]*").unwrap()]),
            Rule::Chars,
        ];
        for rule in rules {
            let min = if matches!(rule, Rule::Chars) { 1 } else { min_chars };
            let tokenizer = attributes(rule, mark, min);
            let (tokens, ends) = tokenizer.split(&strings);
            prop_assert_eq!(ends.len(), strings.len());
            for token in &tokens {
                prop_assert!(!token.is_empty());
                prop_assert!(strings.iter().any(|s| s.contains(token)));
            }
            let (cells, width) = tokenizer.pad(&tokens, &ends).unwrap();
            prop_assert_eq!(cells.len(), width * strings.len());
        }
    }
}
