//! Headlines by search: the approach of Schumann et al. (2020), which picks the words of the
//! summary from the document to maximise a score built only from unpaired text, on a space
//! small enough to enumerate.
//!
//! A candidate is `words` words of the document, in order, made of one run or of two runs with
//! one gap between them: the first word among the first `max_start`, the gap at most
//! `max_skip` words long (so an apposition, a relative clause or a dateline can go). Its score
//! adds, with the weights of [`SearchConfig`]:
//! - fluency: `ln P` of its words under the Kneser–Ney bigram of the human summaries
//!   ([`SummaryLm`]), from `[START]`, and the first word's `ln P` again (how headlines begin);
//! - content: the idf of its distinct words over the documents;
//! - style: for each word, `ln` of its relative frequency in the summaries over that in the
//!   documents (words such as "said" or weekdays are rarer in summaries than in lead
//!   sentences);
//! - salience: for each distinct word, the log-odds that an article repeats it within the
//!   next sentences after the lead sentence it is in, over the documents' own articles
//!   ([`Unpaired::repeated`](super::data::Unpaired::repeated)): names and the topic's nouns
//!   recur, datelines, weekdays and attributions do not;
//! - penalties on a late start, on having a gap, and on the gap's length.
//!
//! Every term is a count over the documents (with their articles) or over the summaries, never
//! over pairs, so the search is unpaired. Punctuation is not written: a candidate is made of
//! tokens that hold a letter or digit.

use serde::{Deserialize, Serialize};

use super::lm::{LmError, SummaryLm};
use crate::nn::Stored;
use crate::record::{Reader, RecordError, Writer};
use crate::summarize::vocab::{START_ID, Vocab};

/// The format tag of a search file (`unpaired search --export`), which the page loads.
pub const FORMAT: &str = "earthmover-headline-search-v1";

/// The search space and the score's weights. The defaults were chosen by coordinate ascent on
/// the news setting's tuning part (ROUGE-1 at 9 words), keeping only weights whose headlines
/// are at least as likely per word under the summaries' bigram as without salience.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig {
    /// Words in a summary: the dev set's headlines average about 9.
    pub words: usize,
    /// The first word is among the document's first `max_start` words.
    pub max_start: usize,
    /// The longest gap between the two runs.
    pub max_skip: usize,
    /// Weight of the summaries' bigram log-probability.
    pub lm: f64,
    /// Extra weight of the first word's log-probability after `[START]`.
    pub first: f64,
    /// Weight of the distinct words' idf over the documents.
    pub idf: f64,
    /// Weight of the words' summary-to-document frequency log-ratio.
    pub style: f64,
    /// Cost per word skipped before the first one.
    pub start: f64,
    /// Cost of having a gap.
    pub gap: f64,
    /// Cost per word of the gap.
    pub skip: f64,
    /// Weight of the distinct words' salience (0 in files written without it).
    #[serde(default)]
    pub salience: f64,
}

/// Salience's pseudo-count: a word seen in few lead sentences is drawn towards the mean
/// repeat rate by half a sentence's weight.
const SALIENCE_PRIOR: f64 = 0.5;

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            words: 9,
            max_start: 14,
            max_skip: 15,
            lm: 1.0,
            first: 0.0,
            idf: 1.0,
            style: 2.0,
            start: 1.6,
            gap: 4.0,
            skip: 0.5,
            salience: 3.0,
        }
    }
}

/// The fitted statistics: everything the score reads, by word id.
#[derive(Clone, Debug)]
pub struct Searcher {
    pub config: SearchConfig,
    vocab: Vocab,
    lm: SummaryLm,
    /// Per word id, float32 as a file stores them, so a loaded file searches exactly as the
    /// fitted model did.
    idf: Vec<f32>,
    style: Vec<f32>,
    salience: Vec<f32>,
}

impl SearchConfig {
    /// Refuses a search space or weight that cannot work, naming it.
    pub fn validate(&self) -> Result<(), RecordError> {
        let bad = |what: &str| Err(RecordError::Invalid(format!("the search's {what}")));
        if !(1..=50).contains(&self.words) {
            return bad("words must be 1 to 50");
        }
        if !(1..=100).contains(&self.max_start) || self.max_skip > 100 {
            return bad("max_start must be 1 to 100 and max_skip at most 100");
        }
        let &SearchConfig { lm, first, idf, style, start, gap, skip, salience, .. } = self;
        if [lm, first, idf, style, start, gap, skip, salience].iter().any(|x| !x.is_finite()) {
            return bad("weights must be finite");
        }
        Ok(())
    }
}

/// Per word id: the log-odds that an article repeats the word in the sentences after the lead
/// sentence it is in, drawn towards the mean rate by [`SALIENCE_PRIOR`]; a word in no lead
/// sentence gets the mean rate's. `seen` is each word's document frequency (`repeated` holds one
/// list per document). All 0 without `repeated`.
fn salience(seen: &[f64], repeated: &[Vec<String>], vocab: &Vocab) -> Vec<f32> {
    let v = vocab.len();
    let mut again = vec![0f64; v];
    for r in repeated {
        distinct(words(r).iter().map(|w| vocab.id(w))).into_iter().for_each(|w| again[w] += 1.0);
    }
    let (n, k) = (seen.iter().sum::<f64>(), again.iter().sum::<f64>());
    if repeated.is_empty() || n == 0.0 || k == 0.0 || k >= n {
        return vec![0.0; v];
    }
    let (rate, a) = (k / n, SALIENCE_PRIOR);
    (0..v)
        .map(|w| ((again[w] + a * rate) / (seen[w] - again[w] + a * (1.0 - rate))).ln() as f32)
        .collect()
}

/// The ids, each once, in increasing order.
fn distinct(ids: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut ids: Vec<usize> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The tokens a summary may use: those with a letter or digit.
pub fn words<S: AsRef<str>>(tokens: &[S]) -> Vec<&str> {
    tokens.iter().map(AsRef::as_ref).filter(|t| t.chars().any(char::is_alphanumeric)).collect()
}

impl Searcher {
    /// Counts words over `documents` and `summaries` (from disjoint sources) and fits the
    /// summaries' bigram with Kneser–Ney discount `discount`. `repeated` holds, per document,
    /// its words that its article repeats ([`Unpaired::repeated`](super::data::Unpaired));
    /// without it (Debian) every word's salience is 0.
    pub fn fit(
        documents: &[Vec<String>],
        repeated: &[Vec<String>],
        summaries: &[Vec<String>],
        discount: f64,
        config: SearchConfig,
    ) -> Result<Self, LmError> {
        let docs: Vec<Vec<&str>> = documents.iter().map(|d| words(d)).collect();
        let sums: Vec<Vec<&str>> = summaries.iter().map(|s| words(s)).collect();
        let all = docs.iter().chain(&sums).flatten().copied();
        let vocab = Vocab::build(all, usize::MAX).map_err(|_| LmError::NoSummaries)?;
        let v = vocab.len();
        let ids = |s: &[&str]| s.iter().map(|w| vocab.id(w)).collect::<Vec<_>>();
        let lm = SummaryLm::fit_ids(&sums.iter().map(|s| ids(s)).collect::<Vec<_>>(), v, discount)?;
        let (mut df, mut in_docs, mut in_sums) = (vec![0f64; v], vec![0f64; v], vec![0f64; v]);
        for d in docs.iter().map(|d| ids(d)) {
            d.iter().for_each(|&w| in_docs[w] += 1.0);
            distinct(d).into_iter().for_each(|w| df[w] += 1.0);
        }
        sums.iter().flat_map(|s| ids(s)).for_each(|w| in_sums[w] += 1.0);
        let n = docs.len() as f64;
        let (td, ts) = (in_docs.iter().sum::<f64>(), in_sums.iter().sum::<f64>());
        let idf = df.iter().map(|&f| ((n + 1.0) / (f + 1.0)).ln() as f32).collect();
        let style = (0..v)
            .map(|w| {
                let (s, d) = ((in_sums[w] + 1.0) / ts.max(1.0), (in_docs[w] + 1.0) / td.max(1.0));
                (s.ln() - d.ln()) as f32
            })
            .collect();
        let salience = salience(&df, repeated, &vocab);
        Ok(Searcher { config, vocab, lm, idf, style, salience })
    }

    /// The words the search has statistics for.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// One file with everything the search reads: the config (TOML), the vocabulary, each
    /// word's idf and style, and the summaries' bigram counts (`[n, 3]`: previous, word, count).
    pub fn to_bytes(&self, extra: &[(&str, String)]) -> Result<Vec<u8>, RecordError> {
        let mut w = Writer::default();
        w.header(FORMAT, &self.config)?;
        w.metadata.insert("vocab".into(), self.vocab.to_text());
        w.metadata.insert("discount".into(), self.lm.discount().to_string());
        w.extras(extra);
        let counts = self.lm.counts();
        let bigrams = counts.iter().flat_map(|&(a, b, c)| [a as f32, b as f32, c as f32]).collect();
        let v = self.vocab.len();
        w.floats(vec![
            Stored { name: "idf".into(), shape: vec![v], values: self.idf.clone() },
            Stored { name: "style".into(), shape: vec![v], values: self.style.clone() },
            Stored { name: "salience".into(), shape: vec![v], values: self.salience.clone() },
            Stored { name: "bigrams".into(), shape: vec![counts.len(), 3], values: bigrams },
        ])?;
        w.into_bytes()
    }

    /// Reads [`Searcher::to_bytes`]'s file, checking every part against the vocabulary.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RecordError> {
        let r = Reader::new(bytes)?;
        r.format("headline search file", &[FORMAT])?;
        let config: SearchConfig = r.config()?;
        config.validate()?;
        let vocab =
            Vocab::from_text(r.meta("vocab")?).map_err(|e| RecordError::Vocab(e.to_string()))?;
        let discount: f64 = r
            .meta("discount")?
            .parse()
            .map_err(|_| RecordError::Invalid("metadata.discount is not a number".into()))?;
        let v = vocab.len();
        let per_word = |name: &str| -> Result<Vec<f32>, RecordError> {
            let s = r.floats(name)?;
            if s.shape != [v] {
                let (name, expected) = (name.into(), vec![v]);
                return Err(RecordError::Shape { name, found: s.shape, expected });
            }
            Ok(s.values)
        };
        let (idf, style) = (per_word("idf")?, per_word("style")?);
        // Files written before salience have none: every word's is 0, as the config's weight.
        let salience =
            if r.st.tensor("salience").is_ok() { per_word("salience")? } else { vec![0.0; v] };
        let b = r.floats("bigrams")?;
        if b.shape.len() != 2 || b.shape[1] != 3 {
            let (name, expected) = ("bigrams".into(), vec![b.values.len() / 3, 3]);
            return Err(RecordError::Shape { name, found: b.shape, expected });
        }
        let whole = |x: f32, below: f32| x >= 0.0 && x < below && x.fract() == 0.0;
        let mut counts = Vec::with_capacity(b.shape[0]);
        for row in b.values.chunks_exact(3) {
            let [a, w, c] = [row[0], row[1], row[2]];
            if !(whole(a, v as f32) && whole(w, v as f32) && whole(c, 1e9) && c >= 1.0) {
                let e = format!("bigram entry {row:?} is not (word id, word id, count)");
                return Err(RecordError::Invalid(e));
            }
            counts.push((a as usize, w as usize, c as u64));
        }
        let lm = SummaryLm::from_counts(counts, v, discount)
            .map_err(|e| RecordError::Invalid(e.to_string()))?;
        Ok(Searcher { config, vocab, lm, idf, style, salience })
    }

    /// The score of the candidate made of `ids` (in order), starting `start` words in, with a
    /// gap of `skip` words (0: one run).
    fn score(&self, ids: &[usize], start: usize, skip: usize) -> f64 {
        let c = &self.config;
        let (mut prev, mut lm) = (START_ID, 0.0);
        for &w in ids {
            lm += self.lm.log_prob(prev, w);
            prev = w;
        }
        let first = ids.first().map_or(0.0, |&w| self.lm.log_prob(START_ID, w));
        let distinct = distinct(ids.iter().copied());
        let idf: f64 = distinct.iter().map(|&w| self.idf[w] as f64).sum();
        let salience: f64 = distinct.iter().map(|&w| self.salience[w] as f64).sum();
        let style: f64 = ids.iter().map(|&w| self.style[w] as f64).sum();
        let gap = if skip > 0 { c.gap + c.skip * skip as f64 } else { 0.0 };
        c.lm * lm + c.first * first + c.idf * idf + c.style * style + c.salience * salience
            - c.start * start as f64
            - gap
    }

    /// The best-scoring candidate's words; a document of at most `words` words is its own
    /// summary. The first best wins a tie, one run before two, earlier starts first.
    pub fn summarize<S: AsRef<str>>(&self, document: &[S]) -> Vec<String> {
        self.extract(document).into_iter().map(|i| document[i].as_ref().to_string()).collect()
    }

    /// [`Searcher::summarize`]'s words as positions in `document`, in order. Only the first
    /// sentence is read (up to the first token made of `.`, `!` or `?`): a headline of an
    /// article is chosen from its first sentence, as the news setting's documents are.
    pub fn extract<S: AsRef<str>>(&self, document: &[S]) -> Vec<usize> {
        let terminal =
            |t: &str| t != "..." && !t.is_empty() && t.chars().all(|c| ".!?".contains(c));
        let end =
            document.iter().position(|t| terminal(t.as_ref())).map_or(document.len(), |i| i + 1);
        let at: Vec<usize> =
            (0..end).filter(|&i| document[i].as_ref().chars().any(char::is_alphanumeric)).collect();
        let (n, len) = (at.len(), self.config.words.max(1));
        if n <= len {
            return at;
        }
        let ids: Vec<usize> = at.iter().map(|&i| self.vocab.id(document[i].as_ref())).collect();
        let mut best: Option<(f64, Vec<usize>)> = None;
        let mut consider = |picked: Vec<usize>, start: usize, skip: usize| {
            let chosen: Vec<usize> = picked.iter().map(|&i| ids[i]).collect();
            let s = self.score(&chosen, start, skip);
            if best.as_ref().is_none_or(|(b, _)| s > *b) {
                best = Some((s, picked));
            }
        };
        for i in 0..self.config.max_start.min(n - len + 1) {
            consider((i..i + len).collect(), i, 0);
            for a in 1..len {
                for skip in 1..=self.config.max_skip {
                    let k = i + a + skip;
                    if k + len - a <= n {
                        consider((i..i + a).chain(k..k + len - a).collect(), i, skip);
                    }
                }
            }
        }
        let picked = best.map(|b| b.1).unwrap_or_else(|| (0..len).collect());
        picked.into_iter().map(|i| at[i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpaired::data::words as toks;

    fn corpus(lines: &[&str]) -> Vec<Vec<String>> {
        lines.iter().map(|s| toks(s)).collect()
    }

    /// Documents full of "said" and weekdays, summaries without them: the search drops the
    /// attribution and keeps what the summaries' language starts with.
    #[test]
    fn skips_what_summaries_do_not_say() {
        let documents = corpus(&[
            "police said on monday the man was arrested",
            "officials said on monday the fire was put out",
            "the mayor said on monday the road was closed",
        ]);
        let summaries = corpus(&[
            "man arrested after fire",
            "fire put out",
            "road closed after crash",
            "man held",
        ]);
        let config = SearchConfig { words: 3, ..SearchConfig::default() };
        let s = Searcher::fit(&documents, &[], &summaries, 0.75, config).unwrap();
        for doc in [
            "police said on monday , man arrested",
            "police said on monday the road was closed after a crash",
        ] {
            let out = s.summarize(&toks(doc));
            assert_eq!(out.len(), 3, "{doc} -> {out:?}");
            assert!(
                out.iter().all(|w| !["said", "on", "monday", "wednesday"].contains(&w.as_str())),
                "{doc} -> {out:?}"
            );
        }
        // The file gives back the same searcher, and a damaged one is refused by name.
        let bytes = s.to_bytes(&[]).unwrap();
        let back = Searcher::from_bytes(&bytes).unwrap();
        let doc = toks("officials said on friday the road was closed after the fire");
        assert_eq!(back.summarize(&doc), s.summarize(&doc));
        assert_eq!(back.lm.counts(), s.lm.counts());
        assert!(Searcher::from_bytes(&bytes[..bytes.len() / 2]).is_err());
        let mut w = Writer::default();
        w.header(FORMAT, &SearchConfig { words: 0, ..SearchConfig::default() }).unwrap();
        let e = Searcher::from_bytes(&w.into_bytes().unwrap()).unwrap_err().to_string();
        assert!(e.contains("words must be 1 to 50"), "{e}");
        // Short documents are their own summary, punctuation dropped; only the first sentence
        // is read; nothing panics on empty.
        assert_eq!(s.summarize(&toks("fire , out . the road was closed")), toks("fire out"));
        assert!(s.summarize::<String>(&[]).is_empty());
    }

    /// The search returns the candidate a brute force over every allowed shape scores best.
    #[test]
    fn finds_the_best_candidate() {
        let documents = corpus(&["a b c d e f g h i j", "c d e a b", "j i h g f"]);
        let summaries = corpus(&["a c e", "b d f", "g h", "c e g i"]);
        let config =
            SearchConfig { words: 4, max_start: 3, max_skip: 4, ..SearchConfig::default() };
        let s = Searcher::fit(&documents, &[], &summaries, 0.5, config).unwrap();
        let doc = toks("j a i b h c g d f e");
        let ids: Vec<usize> = doc.iter().map(|w| s.vocab.id(w)).collect();
        let mut best = (f64::NEG_INFINITY, vec![]);
        // Every increasing 4-subset with at most one gap, enumerated independently.
        for mask in 0u32..(1 << doc.len()) {
            let picked: Vec<usize> = (0..doc.len()).filter(|i| (mask >> i) & 1 == 1).collect();
            if picked.len() != 4 || picked[0] >= 3 {
                continue;
            }
            let gaps: Vec<usize> =
                picked.windows(2).map(|p| p[1] - p[0] - 1).filter(|&g| g > 0).collect();
            if gaps.len() > 1 || gaps.first().is_some_and(|&g| g > 4) {
                continue;
            }
            let chosen: Vec<usize> = picked.iter().map(|&i| ids[i]).collect();
            let score = s.score(&chosen, picked[0], gaps.first().copied().unwrap_or(0));
            if score > best.0 + 1e-12 {
                best = (score, picked.iter().map(|&i| doc[i].clone()).collect());
            }
        }
        assert_eq!(s.summarize(&doc), best.1);
    }

    /// Salience is each word's smoothed log-odds of being repeated, worked by hand on a toy
    /// corpus; it is written to the file and read back, and it moves the search to the words
    /// articles repeat.
    #[test]
    fn salience_is_the_log_odds_of_a_repeat() {
        let documents = corpus(&["a b c", "a b d", "a e f ,"]);
        let repeated = vec![toks("a"), toks("a b"), vec![]];
        let summaries = vec![toks("z c"), toks("d e f")];
        let s = Searcher::fit(&documents, &repeated, &summaries, 0.75, SearchConfig::default())
            .unwrap();
        // 9 distinct (document, word) pairs, 3 of them repeated: the mean rate is 1/3.
        let (rate, a) = (1.0 / 3.0, SALIENCE_PRIOR);
        for (w, again, seen) in [("a", 2.0, 3.0), ("b", 1.0, 2.0), ("c", 0.0, 1.0), ("z", 0.0, 0.0)]
        {
            let want = ((again + a * rate) / (seen - again + a * (1.0 - rate))).ln();
            let got = s.salience[s.vocab.id(w)] as f64;
            assert!((got - want).abs() < 1e-6, "{w}: {got} against {want}");
        }
        let back = Searcher::from_bytes(&s.to_bytes(&[]).unwrap()).unwrap();
        assert_eq!(back.salience, s.salience);
        // Weighted alone, salience picks the two words articles repeat most.
        let config = SearchConfig {
            words: 2,
            max_skip: 3,
            lm: 0.0,
            idf: 0.0,
            style: 0.0,
            start: 0.0,
            gap: 0.0,
            salience: 1.0,
            ..SearchConfig::default()
        };
        let only = Searcher { config, ..s.clone() };
        assert_eq!(only.summarize(&toks("c d a f b")), toks("a b"));
        let without = Searcher::fit(&documents, &[], &summaries, 0.75, SearchConfig::default());
        assert!(without.unwrap().salience.iter().all(|&x| x == 0.0));
        // A file written before salience (no tensor, no weight in its config) still loads, and
        // searches as it did: every salience and the weight are 0.
        let bytes = s.to_bytes(&[]).unwrap();
        let r = Reader::new(&bytes).unwrap();
        let mut meta = r.metadata.clone();
        let config: Vec<&str> =
            meta["config"].lines().filter(|l| !l.starts_with("salience")).collect();
        meta.insert("config".into(), config.join("\n"));
        let kept = r.st.tensors().into_iter().filter(|(name, _)| name != "salience");
        let old = Searcher::from_bytes(&safetensors::serialize(kept, Some(meta)).unwrap()).unwrap();
        assert_eq!(old.config.salience, 0.0);
        assert!(old.salience.iter().all(|&x| x == 0.0));
        assert_eq!(old.idf, s.idf);
    }
}
