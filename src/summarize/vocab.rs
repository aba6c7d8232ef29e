//! The vocabulary: the most frequent training words plus four special tokens, saved as a
//! plain text file (one `word<TAB>count` per line, most frequent first) beside the model.

use std::collections::HashMap;

pub const PAD: &str = "[PAD]";
pub const UNK: &str = "[UNK]";
pub const START: &str = "[START]";
pub const STOP: &str = "[STOP]";
pub const PAD_ID: usize = 0;
pub const UNK_ID: usize = 1;
pub const START_ID: usize = 2;
pub const STOP_ID: usize = 3;
const SPECIALS: [&str; 4] = [PAD, UNK, START, STOP];

#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, usize>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VocabError {
    #[error("vocabulary line {line}: expected `word<TAB>count`, found {found:?}")]
    BadLine { line: usize, found: String },
    #[error("vocabulary line {line}: the word {word:?} appears twice")]
    Duplicate { line: usize, word: String },
    #[error("the vocabulary must start with {PAD}, {UNK}, {START}, {STOP}")]
    NoSpecials,
    #[error(
        "a vocabulary needs room for at least one word besides the 4 special tokens (size {0})"
    )]
    TooSmall(usize),
}

impl Vocab {
    /// The `size` most frequent tokens (specials included in `size`); ties break
    /// alphabetically so the result does not depend on the order of the data.
    pub fn build<'a>(
        tokens: impl IntoIterator<Item = &'a str>,
        size: usize,
    ) -> Result<Self, VocabError> {
        if size <= SPECIALS.len() {
            return Err(VocabError::TooSmall(size));
        }
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for t in tokens.into_iter().filter(|t| !SPECIALS.contains(t)) {
            *counts.entry(t).or_default() += 1;
        }
        let mut ranked: Vec<(&str, u64)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.truncate(size - SPECIALS.len());
        let specials = SPECIALS.iter().map(|&s| (s, 0));
        let (words, counts) = specials.chain(ranked).map(|(w, c)| (w.to_string(), c)).unzip();
        Ok(Self::from_parts(words, counts))
    }

    fn from_parts(words: Vec<String>, counts: Vec<u64>) -> Self {
        let index = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        Vocab { words, counts, index }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word`, or [`UNK_ID`].
    pub fn id(&self, word: &str) -> usize {
        self.index.get(word).copied().unwrap_or(UNK_ID)
    }

    pub fn contains(&self, word: &str) -> bool {
        self.index.contains_key(word)
    }

    pub fn word(&self, id: usize) -> Option<&str> {
        self.words.get(id).map(String::as_str)
    }

    pub fn to_text(&self) -> String {
        self.words.iter().zip(&self.counts).map(|(w, c)| format!("{w}\t{c}\n")).collect()
    }

    pub fn from_text(text: &str) -> Result<Self, VocabError> {
        let (mut words, mut counts) = (vec![], vec![]);
        let mut seen = std::collections::HashSet::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let parsed =
                line.rsplit_once('\t').and_then(|(w, c)| Some((w, c.trim().parse::<u64>().ok()?)));
            let Some((w, c)) =
                parsed.filter(|(w, _)| !w.is_empty() && !w.contains(char::is_whitespace))
            else {
                let found = line.chars().take(40).collect();
                return Err(VocabError::BadLine { line: i + 1, found });
            };
            if !seen.insert(w.to_string()) {
                return Err(VocabError::Duplicate { line: i + 1, word: w.to_string() });
            }
            words.push(w.to_string());
            counts.push(c);
        }
        if words.len() < SPECIALS.len() || words[..4] != SPECIALS {
            return Err(VocabError::NoSpecials);
        }
        if words.len() <= SPECIALS.len() {
            return Err(VocabError::TooSmall(words.len()));
        }
        Ok(Self::from_parts(words, counts))
    }
}
