//! Unpaired training data: documents from one set, human summaries from a disjoint one, and
//! true pairs held out for evaluation only.
//!
//! The Debian split: each `long description<TAB>synopsis`
//! pair whose description has at most `max_doc` tokens is put, by a hash of its text, into the
//! test pairs (3%), the validation pairs (3%), the document half or the summary half (47%
//! each). The document half contributes only descriptions and the summary half only synopses,
//! so no training document meets its own summary.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use crate::text::data::{DataError, Pair, ReadReport, read_parallel, read_tsv};
use crate::text::tokenize::{split_sentences, split_summary_sentences};

/// What unpaired training sees, and the pairs kept for evaluation.
#[derive(Clone, Debug, Default)]
pub struct Unpaired {
    /// Tokenized documents (the generator's inputs).
    pub documents: Vec<Vec<String>>,
    /// Tokenized human summaries of other documents (the critic's real data).
    pub summaries: Vec<Vec<String>>,
    /// True pairs for choosing settings (Lead-N's N, checkpoints).
    pub val: Vec<Pair>,
    /// True pairs for the reported scores.
    pub test: Vec<Pair>,
    /// News only, one per document: the words of the document that the next
    /// [`REPEAT_SENTENCES`] sentences of its own article repeat (the headline search's
    /// salience; no summary is read). Empty for Debian, whose documents have no article.
    pub repeated: Vec<Vec<String>>,
}

/// Where a pair goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Test,
    Val,
    Document,
    Summary,
}

/// FNV-1a of the pair's text: the same split on every machine and for every order of lines.
pub fn side(pair: &Pair) -> Side {
    let h = fnv(pair.article.bytes().chain([b'\t']).chain(pair.summary.bytes()));
    match h % 100 {
        0..=2 => Side::Test,
        3..=5 => Side::Val,
        _ if (h / 100).is_multiple_of(2) => Side::Document,
        _ => Side::Summary,
    }
}

/// FNV-1a of some bytes.
fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

pub(super) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// Splits pairs as described in the module docs; pairs with longer documents are dropped.
pub fn split(pairs: Vec<Pair>, max_doc: usize) -> Unpaired {
    let mut out = Unpaired::default();
    for pair in pairs {
        if pair.article.split_whitespace().count() > max_doc {
            continue;
        }
        match side(&pair) {
            Side::Test => out.test.push(pair),
            Side::Val => out.val.push(pair),
            Side::Document => out.documents.push(words(&pair.article)),
            Side::Summary => out.summaries.push(words(&pair.summary)),
        }
    }
    out
}

/// Reads and splits `long2synopsis.tsv(.gz)`.
pub fn debian(path: &Path, max_doc: usize) -> Result<(Unpaired, ReadReport), DataError> {
    let data = read_tsv(path, None)?;
    Ok((split(data.pairs, max_doc), data.report))
}

/// The highlight sentence of `highlights` (`<q>`-separated) that overlaps `lead` most (ROUGE-1
/// F1; the first on a tie), or `None` when there is none.
pub fn best_highlight(lead: &str, highlights: &str) -> Option<String> {
    split_summary_sentences(highlights)
        .into_iter()
        .filter(|h| !h.trim().is_empty())
        .map(|h| (crate::text::rouge::score(&h, lead, false).rouge1.f1, h))
        .reduce(|best, next| if best.0 >= next.0 { best } else { next })
        .map(|(_, h)| h)
}

/// Real summaries of the news setting have at most this many words: the generator writes at
/// most 13 words and `[STOP]` (Wang & Lee's decoder), and a highlight cut there would teach the
/// critic that real summaries do not stop.
pub const NEWS_SUMMARY_WORDS: usize = 13;

/// How many sentences after the lead sentence say which of its words the article repeats.
pub const REPEAT_SENTENCES: usize = 5;

/// The news setting (Wang & Lee's transfer rows E, on CNN/DailyMail alone): documents are
/// lead sentences (the first sentence of each article in `dir/train`, at most `max_doc`
/// tokens) from the document half of the articles; real summaries are single highlight
/// sentences of the other half's articles, of at most [`NEWS_SUMMARY_WORDS`] words. Each
/// document also records which of its words its article's next sentences repeat
/// ([`Unpaired::repeated`]): a statistic of the documents' own articles.
///
/// The evaluation pairs are headline-like: each `dir/val` article's lead sentence with the
/// highlight sentence that overlaps it most ([`best_highlight`]). A pair whose lead sentence is
/// a training document, or whose highlight is a training summary, is dropped, so they are
/// disjoint from training. A hash of the lead sentence puts each pair in the tuning part
/// (`val`, for choosing every setting) or the reporting part (`test`), half and half.
pub fn cnndm_news(dir: &Path, max_doc: usize) -> Result<(Unpaired, ReadReport), DataError> {
    let train = read_parallel(&dir.join("train"), None)?;
    let val = read_parallel(&dir.join("val"), None)?;
    let lead = |article: &str| split_sentences(article).into_iter().next().unwrap_or_default();
    let fits = |s: &str| !s.is_empty() && s.split_whitespace().count() <= max_doc;
    let mut out = Unpaired::default();
    for pair in &train.pairs {
        match side(pair) {
            Side::Summary => out.summaries.extend(
                split_summary_sentences(&pair.summary)
                    .iter()
                    .map(|h| words(h))
                    .filter(|h| !h.is_empty() && h.len() <= NEWS_SUMMARY_WORDS),
            ),
            _ => {
                let sentences = split_sentences(&pair.article);
                let Some(first) = sentences.first().filter(|f| fits(f)) else { continue };
                let next: HashSet<&str> = sentences[1..]
                    .iter()
                    .take(REPEAT_SENTENCES)
                    .flat_map(|s| s.split_whitespace())
                    .collect();
                let document = words(first);
                let again = document.iter().filter(|w| next.contains(w.as_str())).cloned();
                out.repeated.push(again.collect::<BTreeSet<_>>().into_iter().collect());
                out.documents.push(document);
            }
        }
    }
    let seen: HashSet<String> =
        out.documents.iter().chain(&out.summaries).map(|w| w.join(" ")).collect();
    for p in &val.pairs {
        let article = lead(&p.article);
        if !fits(&article) || seen.contains(&article) {
            continue;
        }
        let Some(summary) = best_highlight(&article, &p.summary) else { continue };
        if summary.is_empty() || seen.contains(&summary) {
            continue;
        }
        let tuning = fnv(article.bytes()).is_multiple_of(2);
        let pair = Pair { article, summary };
        if tuning { out.val.push(pair) } else { out.test.push(pair) }
    }
    Ok((out, train.report))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/debian/long2synopsis.tsv.gz");

    #[test]
    fn debian_split_keeps_documents_and_summaries_apart() {
        let (data, report) = debian(Path::new(DEBIAN), 50).expect("the Debian data is in place");
        let total = data.documents.len() + data.summaries.len() + data.val.len() + data.test.len();
        println!(
            "{total} pairs ≤ 50 tokens: {} documents, {} summaries, {} val, {} test; {} bad",
            data.documents.len(),
            data.summaries.len(),
            data.val.len(),
            data.test.len(),
            report.bad()
        );
        assert!(total > 25_000, "{total}");
        assert!(data.documents.iter().all(|d| d.len() <= 50));
        let share = |n: usize| n as f64 / total as f64;
        assert!((share(data.test.len()) - 0.03).abs() < 0.005);
        assert!((share(data.documents.len()) - 0.47).abs() < 0.02);
        // No training document's own synopsis is among the real summaries: the halves are
        // disjoint by construction, so a document and a summary from the same line never meet.
        let pairs = read_tsv(Path::new(DEBIAN), None).unwrap().pairs;
        let summary_side: std::collections::HashSet<&str> =
            pairs.iter().filter(|p| side(p) == Side::Summary).map(|p| p.summary.as_str()).collect();
        let leaked = pairs
            .iter()
            .filter(|p| side(p) == Side::Document && p.article.split_whitespace().count() <= 50)
            .filter(|p| summary_side.contains(p.summary.as_str()))
            .count();
        // Identical synopses do recur across packages ("Transitional package"), so a few
        // documents share their synopsis's text with another package's: count, do not forbid.
        println!("documents whose synopsis text also appears on the summary side: {leaked}");
        assert!(share(leaked) < 0.05, "{leaked}");
    }

    #[test]
    fn cnndm_news_reads_lead_sentences_and_highlights() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm"));
        let (data, _) = cnndm_news(dir, 50).expect("the CNN/DailyMail data is in place");
        println!(
            "{} lead sentences, {} highlight sentences, {} val and {} test pairs",
            data.documents.len(),
            data.summaries.len(),
            data.val.len(),
            data.test.len()
        );
        assert!(data.documents.len() > 10_000 && data.summaries.len() > 20_000);
        assert!(data.documents.iter().all(|d| !d.is_empty() && d.len() <= 50));
        assert!(data.summaries.iter().all(|d| !d.is_empty() && d.len() <= NEWS_SUMMARY_WORDS));
        // A lead sentence is one sentence; a highlight is one highlight, never several joined.
        assert!(data.summaries.iter().all(|h| !h.iter().any(|w| w == "<q>")));
        // One list of repeated words per document, each word its document's own, once.
        assert_eq!(data.repeated.len(), data.documents.len());
        for (d, r) in data.documents.iter().zip(&data.repeated) {
            assert!(r.iter().all(|w| d.contains(w)) && r.windows(2).all(|p| p[0] < p[1]));
        }
        let (seen, again) =
            data.documents.iter().zip(&data.repeated).fold((0, 0), |(s, a), (d, r)| {
                let mut d = d.clone();
                d.sort_unstable();
                d.dedup();
                (s + d.len(), a + r.len())
            });
        println!("{again} of {seen} distinct first-sentence tokens recur in the next sentences");
        assert!(again * 4 > seen && again < seen, "{again} of {seen}");
        assert!(data.test.iter().all(|p| !p.summary.contains("<q>") && !p.article.is_empty()));
        assert!(data.val.len() > 1500 && data.test.len() > 1500);
        // Disjoint from training: no dev lead sentence is a training document and no dev
        // highlight a training summary; the tuning and reporting parts share no pair.
        let seen: std::collections::HashSet<String> =
            data.documents.iter().chain(&data.summaries).map(|w| w.join(" ")).collect();
        assert!(data.val.iter().chain(&data.test).all(|p| !seen.contains(&p.article)));
        assert!(data.val.iter().chain(&data.test).all(|p| !seen.contains(&p.summary)));
        let tuning: HashSet<&str> = data.val.iter().map(|p| p.article.as_str()).collect();
        assert!(data.test.iter().all(|p| !tuning.contains(p.article.as_str())));
        // Each reference is one highlight sentence of its own article, the most overlapping.
        let val = read_parallel(&dir.join("val"), None).unwrap();
        let first = &data.val[0];
        let source = val
            .pairs
            .iter()
            .find(|p| split_sentences(&p.article).first() == Some(&first.article))
            .unwrap();
        assert_eq!(best_highlight(&first.article, &source.summary).as_ref(), Some(&first.summary));
        // Deterministic: a second read gives the same parts in the same order.
        let (again, _) = cnndm_news(dir, 50).unwrap();
        assert_eq!(again.val, data.val);
        assert_eq!(again.test, data.test);
        let mean = |ps: &[Pair]| {
            ps.iter().map(|p| p.summary.split_whitespace().count()).sum::<usize>() as f64
                / ps.len() as f64
        };
        println!(
            "reference words: tuning {:.2}, reporting {:.2}",
            mean(&data.val),
            mean(&data.test)
        );
    }

    /// The dev set's construction: the highlight chosen is the one with the most overlap,
    /// by ROUGE-1 F1, and the first on a tie.
    #[test]
    fn best_highlight_picks_the_most_overlapping_sentence() {
        let lead = "the mayor of paris opened a new bridge on monday .";
        let highlights =
            "a storm hit london <q> paris mayor opens new bridge <q> the bridge cost 1m";
        assert_eq!(
            best_highlight(lead, highlights).as_deref(),
            Some("paris mayor opens new bridge")
        );
        assert_eq!(best_highlight(lead, "x y <q> z w").as_deref(), Some("x y"));
        assert_eq!(best_highlight(lead, ""), None);
    }
}
