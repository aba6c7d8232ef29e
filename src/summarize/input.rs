//! Turning what a person gives (bytes from stdin, a pasted text, a dropped file) into article
//! tokens, with one clear message per kind of bad input. The CLI and the web page both call
//! [`read_article`], so they accept and refuse exactly the same texts.

use super::vocab::Vocab;
use crate::text::tokenize::tokenize;

/// Why an input cannot be summarised.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("the text is empty: give an article to summarise")]
    Empty,
    #[error("the input looks binary (it contains NUL bytes): give plain text")]
    Binary,
    #[error("the input is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("the text is {size_mb:.1} MB, more than the {limit_mb} MB this accepts")]
    TooLarge { size_mb: f64, limit_mb: usize },
    #[error("the text has no words, only punctuation or symbols: give an article in English")]
    NoWords,
}

/// An article ready for the model, with what the person should be told about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Article {
    /// Lower-cased PTB tokens, as in the training data.
    pub tokens: Vec<String>,
    /// Notes to show beside the summary (truncation, unknown words).
    pub notes: Vec<String>,
}

/// Checks and tokenizes `bytes`, refusing more than `limit_bytes`. `vocab` and `max_enc`
/// are the model's, for the notes.
pub fn read_article(
    bytes: &[u8],
    limit_bytes: usize,
    vocab: &Vocab,
    max_enc: usize,
) -> Result<Article, InputError> {
    if bytes.len() > limit_bytes {
        let size_mb = bytes.len() as f64 / (1 << 20) as f64;
        return Err(InputError::TooLarge { size_mb, limit_mb: limit_bytes >> 20 });
    }
    if bytes.contains(&0) {
        return Err(InputError::Binary);
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| InputError::NotUtf8 { offset: e.valid_up_to() })?;
    let tokens = tokenize(text);
    if tokens.is_empty() {
        return Err(InputError::Empty);
    }
    if !tokens.iter().any(|t| t.chars().any(char::is_alphanumeric)) {
        return Err(InputError::NoWords);
    }
    let mut notes = vec![];
    let (n, read) = (tokens.len(), max_enc.min(tokens.len()));
    if n > max_enc {
        notes.push(format!("the article has {n} tokens; the model read the first {max_enc}"));
    }
    if !tokens.iter().take(read).any(|t| vocab.contains(t) && t.chars().any(char::is_alphanumeric))
    {
        notes.push(format!("none of the article's first {read} words is in the model's vocabulary (English news), so the summary can only copy"));
    }
    Ok(Article { tokens, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocab {
        Vocab::build("the police said the man was arrested .".split(' '), 20).unwrap()
    }

    #[test]
    fn each_bad_input_has_its_own_message() {
        let v = vocab();
        let read = |b: &[u8]| read_article(b, 1 << 20, &v, 5);
        assert_eq!(read(b""), Err(InputError::Empty));
        assert_eq!(read(b" \n\t "), Err(InputError::Empty));
        assert_eq!(read(b"ab\x00cd"), Err(InputError::Binary));
        assert_eq!(read(b"caf\xe9"), Err(InputError::NotUtf8 { offset: 3 }));
        assert_eq!(read(b"... !!! ?"), Err(InputError::NoWords));
        assert_eq!(read("🙂🙂 🎉".as_bytes()), Err(InputError::NoWords));
        assert!(matches!(
            read_article(&[b'a'; 3 << 20], 2 << 20, &v, 5),
            Err(InputError::TooLarge { limit_mb: 2, .. })
        ));
        let cjk = read("日本語のテキスト".as_bytes()).unwrap();
        assert!(cjk.notes.iter().any(|n| n.contains("vocabulary")), "{:?}", cjk.notes);
        let long = read(b"The police said the man was arrested.").unwrap();
        assert_eq!(long.tokens.len(), 8);
        assert_eq!(
            long.notes,
            vec!["the article has 8 tokens; the model read the first 5".to_string()]
        );
    }
}
