//! The page's copy of an alignment problem in one safetensors file: both vocabularies' vectors
//! (`src`, `tgt`, float32 as read, before normalisation), their words and the lexicon's pairs
//! that both vocabularies hold, in the metadata. `earthmover align export-web` writes it; the
//! Align tab reads it and builds the same [`super::Problem`] the CLI builds from the text
//! files, so the held-out words and every P@1 agree.

use super::embed::{Embeddings, Lexicon};
use crate::nn::Stored;
use crate::record::{Reader, RecordError, Writer};

pub const FORMAT: &str = "earthmover-align-data-v1";

/// The two spaces and the lexicon as the page needs them.
pub struct Bundle {
    pub src: Embeddings,
    pub tgt: Embeddings,
    pub lexicon: Lexicon,
}

/// Writes `src`, `tgt` and every lexicon pair with both words in the vocabularies, in the
/// lexicon's order (so [`Lexicon::parse`] on the file's pairs gives the same entries).
pub fn to_bytes(
    src: &Embeddings,
    tgt: &Embeddings,
    lexicon: &Lexicon,
    source: &str,
) -> Result<Vec<u8>, RecordError> {
    let mut w = Writer::default();
    for (name, e) in [("src", src), ("tgt", tgt)] {
        let values = e.vectors.clone();
        w.floats(vec![Stored { name: name.into(), shape: vec![e.len(), e.dim], values }])?;
        w.metadata.insert(format!("{name}_words"), e.words.join("\n"));
    }
    let pairs: Vec<String> = lexicon
        .pairs()
        .into_iter()
        .map(|(s, t)| format!("{} {}", src.words[s], tgt.words[t]))
        .collect();
    w.metadata.insert("lexicon".into(), pairs.join("\n"));
    w.format(FORMAT);
    w.metadata.insert("source".into(), source.into());
    w.into_bytes()
}

pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, RecordError> {
    let r = Reader::new(bytes)?;
    r.format("alignment data file", &[FORMAT])?;
    let space = |name: &str| -> Result<Embeddings, RecordError> {
        let s = r.floats(name)?;
        let words: Vec<String> =
            r.meta(&format!("{name}_words"))?.split('\n').map(str::to_string).collect();
        let [n, dim] = s.shape[..] else {
            return Err(RecordError::Invalid(format!("'{name}' is not a matrix: {:?}", s.shape)));
        };
        if n != words.len() {
            let e = format!("'{name}' has {n} vectors but {} words", words.len());
            return Err(RecordError::Invalid(e));
        }
        Embeddings::new(words, dim, s.values).map_err(|e| RecordError::Invalid(e.to_string()))
    };
    let (src, tgt) = (space("src")?, space("tgt")?);
    if src.dim != tgt.dim {
        let (s, t) = (src.dim, tgt.dim);
        let e = format!("the source vectors have {s} dimensions and the target vectors {t}");
        return Err(RecordError::Invalid(e));
    }
    let lexicon = Lexicon::parse(r.meta("lexicon")?, &src, &tgt)
        .map_err(|e| RecordError::Invalid(e.to_string()))?;
    Ok(Bundle { src, tgt, lexicon })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips_and_keeps_the_lexicon_order() {
        let es = Embeddings::parse_word2vec("3 2\naño 1 0\nciudad 0 2\nzzz 3 3\n").unwrap();
        let en = Embeddings::parse_word2vec("3 2\nyear 1 0\ncity 0 2\ntown 3 1\n").unwrap();
        let lex = Lexicon::parse("ciudad town\naño year\nciudad city\nnada x\n", &es, &en).unwrap();
        let b = from_bytes(&to_bytes(&es, &en, &lex, "test").unwrap()).unwrap();
        assert_eq!((b.src, b.tgt, b.lexicon), (es, en, lex));
        assert!(matches!(from_bytes(b"junk"), Err(RecordError::NotSafetensors(_))));
    }
}
