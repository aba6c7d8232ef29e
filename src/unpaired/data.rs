//! Unpaired training data: documents from one set, human summaries from a disjoint one, and
//! true pairs held out for evaluation only.
//!
//! The Debian split (issue 15's in-domain experiment): each `long description<TAB>synopsis`
//! pair whose description has at most `max_doc` tokens is put, by a hash of its text, into the
//! test pairs (3%), the validation pairs (3%), the document half or the summary half (47%
//! each). The document half contributes only descriptions and the summary half only synopses,
//! so no training document meets its own summary.

use std::path::Path;

use crate::text::data::{DataError, Pair, ReadReport, read_tsv};

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
}
