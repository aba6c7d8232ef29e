//! Unpaired training data: documents from one set, human summaries from a disjoint one, and
//! true pairs held out for evaluation only.
//!
//! The Debian split (issue 15's in-domain experiment): each `long description<TAB>synopsis`
//! pair whose description has at most `max_doc` tokens is put, by a hash of its text, into the
//! test pairs (3%), the validation pairs (3%), the document half or the summary half (47%
//! each). The document half contributes only descriptions and the summary half only synopses,
//! so no training document meets its own summary.

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
    let mut h: u64 = 0xcbf29ce484222325;
    for b in pair.article.bytes().chain([b'\t']).chain(pair.summary.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    match h % 100 {
        0..=2 => Side::Test,
        3..=5 => Side::Val,
        _ if (h / 100).is_multiple_of(2) => Side::Document,
        _ => Side::Summary,
    }
}

fn words(s: &str) -> Vec<String> {
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

/// The transfer setting (Wang & Lee's rows E): documents are news lead sentences (the first
/// sentence of each article in `dir/train`, at most `max_doc` tokens) from the document half of
/// the articles; real summaries are single highlight sentences of the other half's articles.
/// The evaluation pairs are `dir/val`'s first sentences with their own highlights (the first
/// half of `dir/val` for validation, the rest for test).
pub fn cnndm_transfer(dir: &Path, max_doc: usize) -> Result<(Unpaired, ReadReport), DataError> {
    let train = read_parallel(&dir.join("train"), None)?;
    let val = read_parallel(&dir.join("val"), None)?;
    let lead = |article: &str| split_sentences(article).into_iter().next().unwrap_or_default();
    let fits = |s: &str| !s.is_empty() && s.split_whitespace().count() <= max_doc;
    let mut out = Unpaired::default();
    for pair in &train.pairs {
        match side(pair) {
            Side::Summary => out.summaries.extend(
                split_summary_sentences(&pair.summary).iter().filter(|h| fits(h)).map(|h| words(h)),
            ),
            _ => {
                let first = lead(&pair.article);
                if fits(&first) {
                    out.documents.push(words(&first));
                }
            }
        }
    }
    let eval: Vec<Pair> = val
        .pairs
        .iter()
        .map(|p| Pair {
            article: lead(&p.article),
            summary: split_summary_sentences(&p.summary).join(" "),
        })
        .filter(|p| fits(&p.article))
        .collect();
    let half = eval.len() / 2;
    out.val = eval[..half].to_vec();
    out.test = eval[half..].to_vec();
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
    fn cnndm_transfer_reads_lead_sentences_and_highlights() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm"));
        let (data, _) = cnndm_transfer(dir, 50).expect("the CNN/DailyMail data is in place");
        println!(
            "{} lead sentences, {} highlight sentences, {} val and {} test pairs",
            data.documents.len(),
            data.summaries.len(),
            data.val.len(),
            data.test.len()
        );
        assert!(data.documents.len() > 10_000 && data.summaries.len() > 30_000);
        assert!(
            data.documents.iter().chain(&data.summaries).all(|d| !d.is_empty() && d.len() <= 50)
        );
        // A lead sentence is one sentence; a highlight is one highlight, never several joined.
        assert!(data.summaries.iter().all(|h| !h.iter().any(|w| w == "<q>")));
        assert!(data.test.iter().all(|p| !p.summary.contains("<q>") && !p.article.is_empty()));
        assert!(data.val.first().is_some_and(|p| p.article.starts_with("new delhi ( cnn )")));
    }
}
