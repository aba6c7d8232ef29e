//! Fuzzing every loader that reads bytes a person (or a crash) can hand us: the tokenizer and
//! the page's article input, the summarization data readers (`.source`/`.target`, JSONL,
//! `.story`, the Debian TSV), the TOML configs, the safetensors loaders (GAN checkpoints,
//! summarizer checkpoints and exports, unpaired runs and page bundles, alignment checkpoints,
//! maps and the Align tab's bundle), and the word2vec vectors with their lexicon.
//!
//! Inputs come from proptest: arbitrary bytes, and mutations (bit flips, overwritten, inserted
//! and deleted runs, truncation, splices) of valid seed files, so the fuzzer reaches past the
//! first parse. The property is the one the README promises: bad input never panics, and what
//! is accepted is well formed (checked per target). A panic is caught, the input is written to
//! a file whose path is printed, and the test fails; every such input then belongs in
//! `tests/fuzz/<target>/`, which each run replays first.
//!
//! Each target runs for `FUZZ_SECONDS` (default 3 s, the CI run). The long runs are
//! `FUZZ_SECONDS=600 cargo test --test fuzz -- --test-threads 1` (README, "Fuzzing").

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use earthmover::gan::{GanConfig, GanState, Objective, checkpoint};
use earthmover::summarize::store::{self, Precision};
use earthmover::summarize::train::TrainState;
use earthmover::summarize::vocab::Vocab;
use earthmover::summarize::{ModelConfig, SummarizerConfig, input::read_article};
use earthmover::text::data::{read_jsonl, read_parallel, read_stories};
use earthmover::text::tokenize::{split_sentences, tokenize};
use earthmover::toy::{Source, Toy};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// One change to a seed file.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(usize, u8),
    Overwrite(usize, Vec<u8>),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    /// Copies a run of the input over another place (repeats headers, numbers, lines).
    Duplicate(usize, usize, usize),
    /// Writes a decimal number (huge, negative, zero) over a place: reaches size checks.
    Number(usize, i64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    let interesting = prop_oneof![
        Just(0i64),
        Just(-1),
        Just(i64::MAX),
        Just(u32::MAX as i64 + 1),
        Just(1 << 40),
        any::<i64>(),
        0i64..100_000
    ];
    prop_oneof![
        (pos, 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        (pos, prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, v)| Mutation::Overwrite(p, v)),
        (pos, prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(p, v)| Mutation::Insert(p, v)),
        (pos, 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        pos.prop_map(Mutation::Truncate),
        (pos, pos, 1usize..256).prop_map(|(a, b, n)| Mutation::Duplicate(a, b, n)),
        (pos, interesting).prop_map(|(p, n)| Mutation::Number(p, n)),
    ]
}

fn apply(mut v: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match m {
        Mutation::FlipBit(p, b) if !v.is_empty() => {
            let i = p % v.len();
            v[i] ^= 1 << b;
        }
        Mutation::Overwrite(p, bytes) => {
            let i = at(*p, v.len());
            for (k, b) in bytes.iter().enumerate() {
                if i + k < v.len() {
                    v[i + k] = *b;
                } else {
                    v.push(*b);
                }
            }
        }
        Mutation::Insert(p, bytes) => {
            let i = at(*p, v.len());
            v.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let i = at(*p, v.len());
            let j = (i + n).min(v.len());
            v.drain(i..j);
        }
        Mutation::Truncate(p) => v.truncate(at(*p, v.len())),
        Mutation::Duplicate(a, b, n) if !v.is_empty() => {
            let i = a % v.len();
            let run: Vec<u8> = v[i..(i + n).min(v.len())].to_vec();
            let j = at(*b, v.len());
            v.splice(j..j, run);
        }
        Mutation::Number(p, n) => {
            let i = at(*p, v.len());
            let digits = n.to_string().into_bytes();
            let j = (i + digits.len()).min(v.len());
            v.splice(i..j, digits);
        }
        _ => {}
    }
    v
}

/// Arbitrary bytes half the time, mutated seeds the other half.
fn input(seeds: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let n = seeds.len();
    let mutated = (0..n, prop::collection::vec(mutation(), 1..6))
        .prop_map(move |(k, ms)| ms.iter().fold(seeds[k].clone(), apply));
    prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), mutated].boxed()
}

fn budget() -> Duration {
    let secs =
        std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// Replays `tests/fuzz/<name>/*`, then runs `target` on generated inputs until the budget is
/// spent. Prints the figures the README quotes; fails, naming the saved input, on a panic.
fn fuzz(name: &str, seeds: Vec<Vec<u8>>, target: impl Fn(&[u8])) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz").join(name);
    let mut replayed = 0;
    if let Ok(dir) = std::fs::read_dir(&corpus) {
        for f in dir.flatten() {
            let bytes = std::fs::read(f.path()).unwrap();
            target(&bytes);
            replayed += 1;
        }
    }
    for s in &seeds {
        target(s);
    }
    let seed =
        std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let strategy = input(seeds);
    let (start, budget) = (Instant::now(), budget());
    let mut cases = 0u64;
    while start.elapsed() < budget {
        let bytes = strategy.new_tree(&mut runner).expect("strategy").current();
        if catch_unwind(AssertUnwindSafe(|| target(&bytes))).is_err() {
            let dir = std::env::temp_dir().join("earthmover-fuzz");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{seed}-{cases}.bin"));
            std::fs::write(&path, &bytes).unwrap();
            panic!(
                "fuzz {name}: input {cases} (seed {seed}) panicked; saved to {} — add it to {}",
                path.display(),
                corpus.display()
            );
        }
        cases += 1;
    }
    println!(
        "fuzz {name}: {cases} cases in {:.0} s (seed {seed}, {replayed} replayed), 0 panics",
        start.elapsed().as_secs_f64()
    );
}

/// A file in a fresh temporary folder for the readers that take paths.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("earthmover-fuzz-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, file: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(file);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const ARTICLE: &str = "The U.S. economy grew 3.2% in Q3 -- faster than expected, officials said on Tuesday.\n\n\"It's a strong quarter,\" she told CNN's reporters (in Washington). Isn't it?  Mr. Smith's $1,000.50 bet... e-mail: a@b.com";

fn vocab() -> Vocab {
    Vocab::build(tokenize(ARTICLE).iter().map(String::as_str), 24).unwrap()
}

#[test]
fn tokenizer_and_article_input() {
    let v = vocab();
    let seeds = vec![
        ARTICLE.as_bytes().to_vec(),
        "a <q> b . c ! d ?".into(),
        "ünïcödé — “quotes” ‘x’ 🙂 \u{200b}".into(),
    ];
    fuzz("tokenizer", seeds, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let tokens = tokenize(&text);
        assert!(
            tokens.iter().all(|t| !t.is_empty() && !t.contains(char::is_whitespace)),
            "{tokens:?}"
        );
        let joined = tokens.join(" ");
        let sentences = split_sentences(&joined);
        let rejoined: Vec<&str> = sentences.iter().flat_map(|s| s.split_whitespace()).collect();
        assert_eq!(
            rejoined,
            joined.split_whitespace().collect::<Vec<_>>(),
            "sentence splitting lost or added tokens"
        );
        if let Ok(a) = read_article(bytes, 1 << 16, &v, 50) {
            assert!(a.tokens.iter().all(|t| !t.is_empty() && !t.contains(char::is_whitespace)));
        }
    });
}

/// What every reader promises of the pairs it returns.
fn check_pairs(d: &earthmover::text::data::Dataset) {
    for p in &d.pairs {
        assert!(!p.article.trim().is_empty() && !p.summary.trim().is_empty(), "{p:?}");
        assert!(!p.article.contains('\n') && !p.summary.contains('\n'), "{p:?}");
    }
}

#[test]
fn parallel_reader() {
    let s = Scratch::new("parallel");
    let seeds = vec![
        "a b c .\nd e f .\n\ng h\n".into(),
        "x y <q> z\nw\nv\n".into(),
        b"\xff\xfe bad utf8\nok line\n".to_vec(),
    ];
    fuzz("parallel", seeds, |bytes| {
        // Half of the bytes are the source, half the target; every other input is gzipped.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        let gz = bytes.first().is_some_and(|b| b & 1 == 1);
        let (sa, ta) = if gz { (gzip(a), gzip(b)) } else { (a.to_vec(), b.to_vec()) };
        let ext = if gz { ".gz" } else { "" };
        s.write(&format!("d.source{ext}"), &sa);
        s.write(&format!("d.target{ext}"), &ta);
        if gz {
            let _ = std::fs::remove_file(s.0.join("d.source"));
            let _ = std::fs::remove_file(s.0.join("d.target"));
        } else {
            let _ = std::fs::remove_file(s.0.join("d.source.gz"));
            let _ = std::fs::remove_file(s.0.join("d.target.gz"));
        }
        if let Ok(d) = read_parallel(&s.0.join("d"), Some(1000)) {
            check_pairs(&d);
        }
        // A corrupt gzip stream as well.
        if gz {
            s.write("c.source.gz", bytes);
            s.write("c.target.gz", bytes);
            if let Ok(d) = read_parallel(&s.0.join("c"), None) {
                check_pairs(&d);
            }
        }
    });
}

#[test]
fn jsonl_reader() {
    let s = Scratch::new("jsonl");
    let seeds = vec![
        br#"{"article": "The cat sat. It was happy.", "highlights": "Cat sits.\nCat is happy."}"#.to_vec(),
        b"{\"article\": \"a\", \"highlights\": \"\"}\n\n  \n{\"id\": 3}\n[1,2]\n{\"article\": 5, \"highlights\": null}\n".to_vec(),
        "{\"article\": \"\\u00e9t\\u00e9 \\ud83d\\ude00\", \"highlights\": \"x\"}\n".into(),
    ];
    fuzz("jsonl", seeds, |bytes| {
        let p = s.write("d.jsonl", bytes);
        if let Ok(d) = read_jsonl(&p, Some(1000)) {
            check_pairs(&d);
        }
    });
}

#[test]
fn stories_reader() {
    let s = Scratch::new("stories");
    let seeds = vec![
        b"(CNN) -- The cat sat on the mat.\n\nIt was happy.\n\n@highlight\n\nCat sits\n\n@highlight\n\nCat is happy\n".to_vec(),
        b"@highlight\n\n@highlight\nno article\n".to_vec(),
        b"only an article, no highlights\n".to_vec(),
    ];
    fuzz("stories", seeds, |bytes| {
        let p = s.write("a.story", bytes);
        if let Ok(d) = read_stories(&p, None) {
            check_pairs(&d);
        }
    });
}

fn gan_config() -> GanConfig {
    let mut c = GanConfig::paper(
        Objective::from_name("wgan-gp").unwrap(),
        Source::Toy(Toy::EightGaussians),
    );
    c.hidden = 4;
    c.depth = 1;
    c.batch_size = 4;
    c
}

fn summarizer_config() -> SummarizerConfig {
    let model = ModelConfig {
        vocab_size: vocab().len(),
        emb: 3,
        hidden: 2,
        pointer: true,
        coverage: true,
        init_uniform: 0.1,
        init_std: 0.1,
    };
    SummarizerConfig { model, ..Default::default() }
}

#[test]
fn toml_configs() {
    let seeds = vec![
        toml::to_string(&gan_config()).unwrap().into_bytes(),
        toml::to_string(&GanConfig::toy_default()).unwrap().into_bytes(),
        toml::to_string(&summarizer_config()).unwrap().into_bytes(),
        toml::to_string(&SummarizerConfig::default()).unwrap().into_bytes(),
    ];
    fuzz("config", seeds, |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        if let Ok(c) = toml::from_str::<GanConfig>(text)
            && c.validate().is_ok()
        {
            // A valid config survives its own round trip.
            let again: GanConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
            assert!(again.validate().is_ok());
        }
        if let Ok(c) = toml::from_str::<SummarizerConfig>(text)
            && c.validate().is_ok()
        {
            let again: SummarizerConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
            assert!(again.validate().is_ok());
        }
    });
}

#[test]
fn safetensors_loaders() {
    let device = Device::flex();
    let gc = gan_config();
    let gan = checkpoint::to_bytes(&GanState::new(&gc, &device), &gc).unwrap();
    let sc = summarizer_config();
    let v = vocab();
    let state = TrainState::new(&sc, &device);
    let ckpt = store::checkpoint_bytes(&state, &sc, &v, &[]).unwrap();
    let f16 = store::export_bytes(&state.model, &sc, &v, Precision::F16, &[]).unwrap();
    let int8 = store::export_bytes(&state.model, &sc, &v, Precision::Int8, &[]).unwrap();
    // Each loader must accept its own seed, or the fuzzer would only ever see rejections.
    assert!(checkpoint::from_bytes(&gan, &device).is_ok());
    for b in [&ckpt, &f16, &int8] {
        assert!(store::load(b, &device).is_ok());
    }
    fuzz("safetensors", vec![gan, ckpt, f16, int8], |bytes| {
        if let Ok((_, c)) = checkpoint::from_bytes(bytes, &device) {
            assert!(c.validate().is_ok());
        }
        if let Ok(l) = store::load(bytes, &device) {
            assert!(l.config.validate().is_ok());
            assert_eq!(l.vocab.len(), l.config.model.vocab_size);
        }
    });
}

/// A tiny unpaired setting: small enough that a load is quick, with every part present.
fn unpaired_config(vocab: usize) -> earthmover::unpaired::config::UnpairedConfig {
    let mut c = earthmover::unpaired::config::UnpairedConfig::news(vocab);
    for m in [&mut c.generator, &mut c.reconstructor] {
        m.model.emb = 4;
        m.model.hidden = 6;
    }
    c.generator.train.max_dec = 4;
    c.critic.steps = 4;
    c.critic.emb = 4;
    c.critic.hidden = 8;
    c.pretrain.target =
        earthmover::unpaired::config::PretrainTarget::Span { min: 1, max: 3, max_start: 2 };
    c
}

#[test]
fn unpaired_loader() {
    use earthmover::unpaired::store::{self as ustore, Phase};
    use earthmover::unpaired::train::UnpairedState;
    let device = Device::flex();
    let v = vocab();
    let c = unpaired_config(v.len());
    c.validate().unwrap();
    let (g, r) =
        (TrainState::new(&c.generator, &device), TrainState::new(&c.reconstructor, &device));
    let pre = ustore::to_bytes(
        &Phase::Pretrain { generator: g.clone(), reconstructor: r.clone() },
        &c,
        &v,
        &[],
    )
    .unwrap();
    let gan = UnpairedState::new(g.model.clone(), r.model.clone(), &c, &device);
    let gan = ustore::to_bytes(&Phase::Gan(gan), &c, &v, &[]).unwrap();
    let doc = vec!["the".to_string(), "u.s.".to_string()];
    let bundle = ustore::bundle_bytes(
        &g.model,
        &r.model,
        &c,
        &v,
        std::slice::from_ref(&doc),
        std::slice::from_ref(&doc),
    )
    .unwrap();
    for b in [&pre, &gan, &bundle] {
        assert!(ustore::from_bytes(b, &device).is_ok());
    }
    fuzz("unpaired", vec![pre, gan, bundle], |bytes| {
        if let Ok(l) = ustore::from_bytes(bytes, &device) {
            assert!(l.config.validate().is_ok());
            assert_eq!(l.vocab.len(), l.config.generator.model.vocab_size);
            assert_eq!(l.vocab.len(), l.config.reconstructor.model.vocab_size);
            // What the Unpaired tab reads next from a bundle never panics either.
            let _ = ustore::bundle_corpus(&l.metadata);
        }
    });
}

#[test]
fn alignment_loaders() {
    use earthmover::align::adversarial::{
        self as adv, AdversarialConfig, AdversarialState, map_bytes, read_map,
    };
    use earthmover::align::bundle;
    use earthmover::align::embed::{Embeddings, Lexicon};
    use earthmover::align::linalg::Square;
    let device = Device::flex();
    let dim = 3;
    let mut config = AdversarialConfig::toy("wgan-gp").unwrap();
    config.critic_hidden = 4;
    let state = AdversarialState::new(&config, &Square::identity(dim), &device);
    let ckpt = adv::to_bytes(&state, &config, &[("epoch", "1".into())]).unwrap();
    let map = map_bytes(&Square::identity(dim), &[]).unwrap();
    let space = |words: &[&str]| {
        let vectors = (0..words.len() * dim).map(|i| i as f32 * 0.25 - 1.0).collect();
        Embeddings::new(words.iter().map(|w| w.to_string()).collect(), dim, vectors).unwrap()
    };
    let (src, tgt) = (space(&["perro", "gato", "casa"]), space(&["dog", "cat", "house", "the"]));
    let lexicon =
        Lexicon::parse("perro dog\ngato cat\ncasa house\ncasa home\n", &src, &tgt).unwrap();
    let bundled = bundle::to_bytes(&src, &tgt, &lexicon, "fuzz").unwrap();
    assert!(adv::from_bytes(&ckpt, dim, &device).is_ok());
    assert!(read_map(&ckpt).is_ok() && read_map(&map).is_ok());
    assert!(bundle::from_bytes(&bundled).is_ok());
    fuzz("align-files", vec![ckpt, map, bundled], |bytes| {
        if let Ok((s, c, _)) = adv::from_bytes(bytes, dim, &device) {
            assert!(c.validate().is_ok());
            assert_eq!(s.map.square().map(|w| w.n).ok(), Some(dim));
        }
        if let Ok((w, _)) = read_map(bytes) {
            assert_eq!(w.data.len(), w.n * w.n);
        }
        if let Ok(b) = bundle::from_bytes(bytes) {
            for e in [&b.src, &b.tgt] {
                assert_eq!(e.vectors.len(), e.len() * e.dim);
            }
            for (s, ts) in &b.lexicon.entries {
                assert!(*s < b.src.len() && ts.iter().all(|t| *t < b.tgt.len()));
            }
        }
    });
}

#[test]
fn embeddings_and_lexicon_text() {
    use earthmover::align::embed::{Embeddings, Lexicon};
    let seeds = vec![
        "3 2\nperro 0.5 -1\ngato 1e-3 2.5\ncasa 0 0\n\nperro dog\ngato cat\ncasa house\n".into(),
        "2 3\ndog 1 2 3\ncat 4 5 6\n\nperro dog\n  \nperro cat\n".into(),
        "1 1\nx nan\n\nx x\n".into(),
        "99999999999 4\n\n".into(),
    ];
    fuzz("embeddings", seeds, |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else { return };
        // The vectors, then after a blank line the lexicon, read against them.
        let (vectors, lexicon) = text.split_once("\n\n").unwrap_or((text, ""));
        if let Ok(e) = Embeddings::parse_word2vec(vectors) {
            assert_eq!(e.vectors.len(), e.len() * e.dim);
            assert!(e.dim > 0);
            if let Ok(l) = Lexicon::parse(lexicon, &e, &e) {
                for (s, ts) in &l.entries {
                    assert!(*s < e.len() && !ts.is_empty() && ts.iter().all(|t| *t < e.len()));
                }
            }
        }
    });
}

#[test]
fn tsv_reader() {
    use earthmover::text::data::read_tsv;
    let s = Scratch::new("tsv");
    let seeds = vec![
        "A long description of a package.\tshort synopsis\n".into(),
        "no tab here\n\ttab first\nlast\t\nx\ty\tz\n".into(),
        b"\xff\xfe\tbad utf8\nok\tline\n".to_vec(),
    ];
    fuzz("tsv", seeds, |bytes| {
        let gz = bytes.first().is_some_and(|b| b & 1 == 1);
        let p = if gz { s.write("d.tsv.gz", &gzip(bytes)) } else { s.write("d.tsv", bytes) };
        if let Ok(d) = read_tsv(&p, Some(1000)) {
            check_pairs(&d);
        }
        if gz {
            // A corrupt gzip stream as well.
            if let Ok(d) = read_tsv(&s.write("c.tsv.gz", bytes), None) {
                check_pairs(&d);
            }
        }
    });
}
