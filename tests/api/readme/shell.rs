//! Reading the shell examples out of Markdown: the fenced `sh` blocks and the inline code spans
//! that call `curl`, split into commands and comment lines as a shell would split them (quotes,
//! `\` line continuations, `#` comments, `;`, `&`, `&&` and newlines ending a command).

/// Shell code and the line of the Markdown file it starts on.
pub struct Snippet {
    pub line: usize,
    pub code: String,
}

/// The fenced `sh` (or `bash`, `shell`) blocks of `markdown`, and each inline code span that starts
/// with `curl ` as a snippet of its own.
pub fn snippets(markdown: &str) -> Vec<Snippet> {
    let mut snippets = Vec::new();
    let mut block: Option<(bool, Snippet)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut block, fence) {
            (None, Some(info)) => {
                let shell = matches!(info.trim(), "sh" | "bash" | "shell");
                let code = String::new();
                block = Some((
                    shell,
                    Snippet {
                        line: index + 2,
                        code,
                    },
                ));
            }
            (Some(_), Some(_)) => {
                let (shell, snippet) = block.take().expect("inside a block");
                if shell {
                    snippets.push(snippet);
                }
            }
            (Some((_, snippet)), None) => {
                snippet.code.push_str(line);
                snippet.code.push('\n');
            }
            (None, None) => {
                let spans = line.split('`').skip(1).step_by(2);
                for span in spans.filter(|span| span.starts_with("curl ")) {
                    snippets.push(Snippet {
                        line: index + 1,
                        code: format!("{span}\n"),
                    });
                }
            }
        }
    }
    assert!(block.is_none(), "a code block is left open");
    snippets
}

/// A command with its words unquoted, or a line that is only a comment (without its `# `).
#[derive(Debug)]
pub enum Item {
    Command { line: usize, words: Vec<String> },
    Comment(String),
}

/// The commands and comment-only lines of `code`, in order; `line` counts from `first_line`. A
/// comment after a command on its line is dropped; a `|` is kept as a word, so that a command
/// piped into another is seen whole.
pub fn items(code: &str, first_line: usize) -> Vec<Item> {
    let mut items = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut line = first_line;
    let mut start = line;
    let mut chars = code.chars().peekable();
    let end_word = |word: &mut Option<String>, words: &mut Vec<String>| words.extend(word.take());
    let end_command = |words: &mut Vec<String>, items: &mut Vec<Item>, start: usize| {
        if !words.is_empty() {
            items.push(Item::Command {
                line: start,
                words: std::mem::take(words),
            });
        }
    };
    while let Some(c) = chars.next() {
        if words.is_empty() && word.is_none() {
            start = line;
        }
        match c {
            '\\' => match chars.next() {
                Some('\n') => line += 1,
                Some(escaped) => word.get_or_insert_with(String::new).push(escaped),
                None => {}
            },
            '\'' => {
                let text = word.get_or_insert_with(String::new);
                for c in chars.by_ref().take_while(|&c| c != '\'') {
                    line += usize::from(c == '\n');
                    text.push(c);
                }
            }
            '"' => {
                let text = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\')) => text.extend(chars.next()),
                        c => {
                            line += usize::from(c == '\n');
                            text.push(c);
                        }
                    }
                }
            }
            '#' if word.is_none() => {
                let comment: String = std::iter::from_fn(|| chars.next_if(|&c| c != '\n')).collect();
                if words.is_empty() {
                    let text = comment.strip_prefix(' ').unwrap_or(&comment);
                    items.push(Item::Comment(text.trim_end().to_owned()));
                }
            }
            ' ' | '\t' => end_word(&mut word, &mut words),
            '\n' | ';' | '&' => {
                end_word(&mut word, &mut words);
                end_command(&mut words, &mut items, start);
                line += usize::from(c == '\n');
                if c == '&' {
                    chars.next_if_eq(&'&');
                }
            }
            '|' => {
                end_word(&mut word, &mut words);
                words.push("|".to_owned());
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end_word(&mut word, &mut words);
    end_command(&mut words, &mut items, start);
    items
}
