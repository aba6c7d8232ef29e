//! Articles and summaries as model inputs: ids in the fixed vocabulary, and ids in each
//! article's *extended* vocabulary, where the article's own out-of-vocabulary words get
//! temporary ids `V, V + 1, …` so that the pointer can copy them (See et al. 2017, §2.2).

use super::vocab::{PAD_ID, START_ID, STOP_ID, UNK_ID, Vocab};

/// One article (and, for training, its summary) ready for the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// Article ids in the fixed vocabulary (OOV → UNK), truncated to the encoder length.
    pub enc: Vec<usize>,
    /// The same positions in the extended vocabulary.
    pub enc_ext: Vec<usize>,
    /// The article's OOV words, in order of first appearance: word `oovs[k]` has id `V + k`.
    pub oovs: Vec<String>,
    /// Decoder inputs `[START] y₁ … y_{n−1}` (fixed vocabulary).
    pub dec_in: Vec<usize>,
    /// Decoder targets `y₁ … y_n [STOP]` in the extended vocabulary; a summary word that is
    /// neither in the vocabulary nor in the article is UNK.
    pub target: Vec<usize>,
    /// Whether the article was cut to fit the encoder.
    pub truncated: bool,
}

impl Example {
    /// `summary` may be empty (for decoding). Summaries longer than `max_dec − 1` tokens are
    /// cut and then get no `[STOP]`, as in See et al.'s code.
    pub fn new(
        article: &[&str],
        summary: &[&str],
        vocab: &Vocab,
        max_enc: usize,
        max_dec: usize,
    ) -> Self {
        let truncated = article.len() > max_enc;
        let article = &article[..article.len().min(max_enc)];
        let mut oovs: Vec<String> = vec![];
        for &w in article {
            if !vocab.contains(w) && !oovs.iter().any(|o| o == w) {
                oovs.push(w.to_string());
            }
        }
        let ext_id = |w: &str| match oovs.iter().position(|o| o == w) {
            Some(k) => vocab.len() + k,
            None => vocab.id(w),
        };
        let enc = article.iter().map(|w| vocab.id(w)).collect();
        let enc_ext = article.iter().map(|w| ext_id(w)).collect();
        let mut dec_in = vec![START_ID];
        dec_in.extend(summary.iter().map(|w| vocab.id(w)));
        let mut target: Vec<usize> = summary.iter().map(|w| ext_id(w)).collect();
        target.push(STOP_ID);
        if dec_in.len() > max_dec {
            dec_in.truncate(max_dec);
            target.truncate(max_dec);
        }
        Example { enc, enc_ext, oovs, dec_in, target, truncated }
    }

    /// The word for an extended-vocabulary id.
    pub fn word<'a>(&'a self, id: usize, vocab: &'a Vocab) -> &'a str {
        let oov = || self.oovs.get(id - vocab.len()).map(String::as_str);
        vocab.word(id).or_else(oov).unwrap_or(super::vocab::UNK)
    }
}

/// A padded batch, as flat row-major buffers.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub size: usize,
    pub enc_len: usize,
    pub dec_len: usize,
    /// `[B, T]` fixed-vocabulary ids (PAD after the end).
    pub enc: Vec<i64>,
    /// `[B, T]` 1 on real tokens, 0 on padding.
    pub enc_mask: Vec<f32>,
    /// `[B, J]` decoder inputs.
    pub dec_in: Vec<i64>,
    /// `[B, J]` targets clamped to the fixed vocabulary (0 where the target is an OOV id).
    pub target_vocab: Vec<i64>,
    /// `[B, J]` 1 where the target is in the fixed vocabulary.
    pub target_in_vocab: Vec<f32>,
    /// `[B, J, T]` 1 where article position `i` holds target `j` (the copy path's mask).
    pub copy_mask: Vec<f32>,
    /// `[B, J]` 1 on real target steps.
    pub dec_mask: Vec<f32>,
    /// Real target steps per example.
    pub dec_lens: Vec<usize>,
    /// The largest extended vocabulary in the batch.
    pub max_oovs: usize,
}

impl Batch {
    pub fn new(examples: &[Example], vocab_size: usize) -> Self {
        let b = examples.len();
        let t = examples.iter().map(|e| e.enc.len()).max().unwrap_or(0).max(1);
        let j = examples.iter().map(|e| e.dec_in.len()).max().unwrap_or(0).max(1);
        let mut out = Batch {
            size: b,
            enc_len: t,
            dec_len: j,
            enc: vec![PAD_ID as i64; b * t],
            enc_mask: vec![0.0; b * t],
            dec_in: vec![PAD_ID as i64; b * j],
            target_vocab: vec![PAD_ID as i64; b * j],
            target_in_vocab: vec![0.0; b * j],
            copy_mask: vec![0.0; b * j * t],
            dec_mask: vec![0.0; b * j],
            dec_lens: examples.iter().map(|e| e.target.len()).collect(),
            max_oovs: examples.iter().map(|e| e.oovs.len()).max().unwrap_or(0),
        };
        for (n, e) in examples.iter().enumerate() {
            for (i, &id) in e.enc.iter().enumerate() {
                out.enc[n * t + i] = id as i64;
                out.enc_mask[n * t + i] = 1.0;
            }
            for (k, (&input, &target)) in e.dec_in.iter().zip(&e.target).enumerate() {
                out.dec_in[n * j + k] = input as i64;
                out.dec_mask[n * j + k] = 1.0;
                if target < vocab_size {
                    out.target_vocab[n * j + k] = target as i64;
                    out.target_in_vocab[n * j + k] = 1.0;
                }
                for (i, &src) in e.enc_ext.iter().enumerate() {
                    if src == target && target != UNK_ID {
                        out.copy_mask[(n * j + k) * t + i] = 1.0;
                    }
                }
            }
        }
        out
    }
}
