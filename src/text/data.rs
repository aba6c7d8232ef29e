//! Readers for summarization data, each yielding [`Pair`]s plus a [`ReadReport`] of skipped
//! records: [`read_parallel`] (line-parallel `X.source` / `X.target` files, already tokenized),
//! [`read_tsv`], [`read_jsonl`] (the Hugging Face `cnn_dailymail` release) and [`read_stories`]
//! (CNN/DailyMail `.story` files). All but `.story` files may be gzip-compressed.
//!
//! Raw text (all but the parallel files) is tokenized with [`super::tokenize::tokenize`] (which
//! lower-cases) and summary sentences are joined with ` <q> `, so every reader produces the
//! same shape as the parallel files.
//!
//! Bad records never abort reading: they are skipped, counted by kind, and the first
//! [`MAX_MESSAGES`] are kept as `file:line: problem` messages. Only a file that cannot be
//! found, opened or read is an error.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::tokenize::tokenize;

/// One article with its reference summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    /// Tokenized, lower-cased article (tokens separated by single spaces).
    pub article: String,
    /// Tokenized, lower-cased summary; sentences joined with ` <q> `.
    pub summary: String,
}

/// Pairs read plus what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub pairs: Vec<Pair>,
    pub report: ReadReport,
}

/// How many messages [`ReadReport`] keeps.
pub const MAX_MESSAGES: usize = 20;

/// Kinds of bad records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadKind {
    EmptyArticle,
    EmptySummary,
    /// Whitespace-only line in a JSONL file.
    EmptyLine,
    InvalidUtf8,
    InvalidJson,
    MissingField,
    /// The source and target files have different numbers of lines: one record per line
    /// present in only one of them.
    LineCountMismatch,
}

/// Counts of skipped records by kind, and the first [`MAX_MESSAGES`]
/// messages (`path:line: problem`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Bad records, indexed by [`BadKind`].
    by_kind: [usize; BadKind::LineCountMismatch as usize + 1],
    pub messages: Vec<String>,
}

impl ReadReport {
    /// Total number of bad records.
    pub fn bad(&self) -> usize {
        self.by_kind.iter().sum()
    }

    /// Bad records of one kind.
    pub fn count(&self, kind: BadKind) -> usize {
        self.by_kind[kind as usize]
    }

    fn note(&mut self, kind: BadKind, path: &Path, line: usize, detail: &str) {
        self.by_kind[kind as usize] += 1;
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(format!("{}:{line}: {kind:?}: {detail}", path.display()));
        }
    }

    fn note_utf8(&mut self, path: &Path, line: usize, at: usize) {
        self.note(BadKind::InvalidUtf8, path, line, &format!("invalid UTF-8 at byte {at}"));
    }
}

/// Errors that stop a reader: the input cannot be found, opened or read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("no {kind} file for prefix {prefix}: tried {tried}")]
    MissingParallel { kind: &'static str, prefix: PathBuf, tried: String },
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("error reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("no .story files in directory {path}")]
    NoStories { path: PathBuf },
}

/// Line reader yielding raw bytes without the line ending, so that invalid
/// UTF-8 can be reported per line.
struct Lines {
    reader: Box<dyn BufRead>,
    path: PathBuf,
    line: usize,
}

impl Lines {
    /// Opens `path`, decompressing it when its name ends in `.gz`.
    fn open(path: &Path) -> Result<Self, DataError> {
        let file = File::open(path)
            .map_err(|source| DataError::Open { path: path.to_path_buf(), source })?;
        let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        Ok(Lines { reader, path: path.to_path_buf(), line: 0 })
    }

    fn next_line(&mut self) -> Result<Option<Vec<u8>>, DataError> {
        let mut buf = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| DataError::Read { path: self.path.clone(), source })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        Ok(Some(buf))
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `prefix.kind` or `prefix.kind.gz`, whichever exists (plain first).
fn find_parallel(prefix: &Path, kind: &'static str) -> Result<PathBuf, DataError> {
    let plain = with_suffix(prefix, &format!(".{kind}"));
    let gz = with_suffix(prefix, &format!(".{kind}.gz"));
    if let Some(p) = [&plain, &gz].into_iter().find(|p| p.is_file()) {
        return Ok(p.clone());
    }
    let tried = format!("{}, {}", plain.display(), gz.display());
    Err(DataError::MissingParallel { kind, prefix: prefix.to_path_buf(), tried })
}

fn reached(limit: Option<usize>, n: usize) -> bool {
    limit.is_some_and(|l| n >= l)
}

/// Reads line-parallel `prefix.source(.gz)` / `prefix.target(.gz)`, e.g.
/// `read_parallel(Path::new("data/cnndm/val"), Some(1000))`. Lines are kept
/// as they are (trimmed). Stops after `limit` good pairs.
pub fn read_parallel(prefix: &Path, limit: Option<usize>) -> Result<Dataset, DataError> {
    let (src_path, tgt_path) = (find_parallel(prefix, "source")?, find_parallel(prefix, "target")?);
    let (mut src, mut tgt) = (Lines::open(&src_path)?, Lines::open(&tgt_path)?);
    let mut data = Dataset::default();
    while !reached(limit, data.pairs.len()) {
        match (src.next_line()?, tgt.next_line()?) {
            (None, None) => break,
            (Some(_), None) => note_extra(&mut data.report, &mut src, &tgt_path)?,
            (None, Some(_)) => note_extra(&mut data.report, &mut tgt, &src_path)?,
            (Some(a), Some(s)) => {
                let (a, s) = (utf8(&mut data.report, &src, a), utf8(&mut data.report, &tgt, s));
                if let (Some(a), Some(s)) = (a, s) {
                    push_pair(&mut data, &src.path, src.line, a.trim().into(), s.trim().into());
                }
            }
        }
    }
    Ok(data)
}

/// `longer` has a line the other file (`shorter_path`) lacks: count it and
/// every remaining line as one mismatch record.
fn note_extra(
    report: &mut ReadReport,
    longer: &mut Lines,
    shorter_path: &Path,
) -> Result<(), DataError> {
    let first = longer.line;
    while longer.next_line()?.is_some() {}
    let extra = longer.line - first + 1;
    let detail =
        format!("{extra} line(s) from here on have no counterpart in {}", shorter_path.display());
    report.note(BadKind::LineCountMismatch, &longer.path, first, &detail);
    report.by_kind[BadKind::LineCountMismatch as usize] += extra - 1;
    Ok(())
}

fn utf8(report: &mut ReadReport, lines: &Lines, bytes: Vec<u8>) -> Option<String> {
    String::from_utf8(bytes)
        .map_err(|e| report.note_utf8(&lines.path, lines.line, e.utf8_error().valid_up_to()))
        .ok()
}

/// Adds the pair unless article or summary is empty (then reports it).
fn push_pair(data: &mut Dataset, path: &Path, line: usize, article: String, summary: String) {
    if article.is_empty() {
        data.report.note(BadKind::EmptyArticle, path, line, "empty article");
    } else if summary.is_empty() {
        data.report.note(BadKind::EmptySummary, path, line, "empty summary");
    } else {
        data.pairs.push(Pair { article, summary });
    }
}

/// Tokenizes raw article text into one space-separated line.
fn tokenize_text(text: &str) -> String {
    tokenize(text).join(" ")
}

/// Tokenizes each non-blank summary sentence and joins them with ` <q> `.
fn tokenize_summary<'a>(sentences: impl Iterator<Item = &'a str>) -> String {
    sentences.map(tokenize_text).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" <q> ")
}

/// The loop `read_tsv` and `read_jsonl` share: each non-blank UTF-8 line of `path` goes to
/// `parse`, which returns the raw (article, summary) or notes why the line is bad.
fn read_records(
    path: &Path,
    limit: Option<usize>,
    mut parse: impl FnMut(&mut ReadReport, usize, &str) -> Option<(String, String)>,
) -> Result<Dataset, DataError> {
    let mut lines = Lines::open(path)?;
    let mut data = Dataset::default();
    while !reached(limit, data.pairs.len()) {
        let Some(bytes) = lines.next_line()? else {
            break;
        };
        let Some(text) = utf8(&mut data.report, &lines, bytes) else {
            continue;
        };
        if text.trim().is_empty() {
            data.report.note(BadKind::EmptyLine, path, lines.line, "blank line");
            continue;
        }
        if let Some((article, summary)) = parse(&mut data.report, lines.line, &text) {
            push_pair(&mut data, path, lines.line, article, summary);
        }
    }
    Ok(data)
}

/// Reads `document<TAB>summary` lines of raw text (the Debian descriptions), tokenizing
/// both sides. A line without exactly one tab is a bad record. Plain or `.gz`.
pub fn read_tsv(path: &Path, limit: Option<usize>) -> Result<Dataset, DataError> {
    read_records(path, limit, |report, line, text| {
        let fields: Vec<&str> = text.split('\t').collect();
        if fields.len() != 2 {
            let detail = format!("expected document<TAB>summary, found {} field(s)", fields.len());
            report.note(BadKind::MissingField, path, line, &detail);
            return None;
        }
        Some((tokenize_text(fields[0]), tokenize_text(fields[1])))
    })
}

/// Reads JSON lines with string fields `article` and `highlights` (the
/// highlights' sentences separated by newlines). Plain or `.gz`.
pub fn read_jsonl(path: &Path, limit: Option<usize>) -> Result<Dataset, DataError> {
    read_records(path, limit, |report, line, text| {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| report.note(BadKind::InvalidJson, path, line, &e.to_string()))
            .ok()?;
        let field = |name: &str| value.get(name).and_then(|v| v.as_str());
        match (field("article"), field("highlights")) {
            (Some(a), Some(h)) => Some((tokenize_text(a), tokenize_summary(h.lines()))),
            (a, _) => {
                let missing = if a.is_none() { "article" } else { "highlights" };
                let detail = format!("missing string field `{missing}`");
                report.note(BadKind::MissingField, path, line, &detail);
                None
            }
        }
    })
}

/// Reads one `.story` file, or every `*.story` file in a directory (sorted
/// by name, not recursive).
pub fn read_stories(path: &Path, limit: Option<usize>) -> Result<Dataset, DataError> {
    let mut data = Dataset::default();
    for file in story_files(path)? {
        if reached(limit, data.pairs.len()) {
            break;
        }
        read_story(&mut data, &file)?;
    }
    Ok(data)
}

fn story_files(path: &Path) -> Result<Vec<PathBuf>, DataError> {
    let meta = std::fs::metadata(path)
        .map_err(|source| DataError::Open { path: path.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|source| DataError::Open { path: path.to_path_buf(), source })?;
    let mut files = Vec::new();
    for entry in entries {
        let p =
            entry.map_err(|source| DataError::Read { path: path.to_path_buf(), source })?.path();
        if p.extension().is_some_and(|e| e == "story") && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(DataError::NoStories { path: path.to_path_buf() });
    }
    files.sort();
    Ok(files)
}

fn read_story(data: &mut Dataset, path: &Path) -> Result<(), DataError> {
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(|source| DataError::Open { path: path.to_path_buf(), source })?
        .read_to_end(&mut bytes)
        .map_err(|source| DataError::Read { path: path.to_path_buf(), source })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
            data.report.note_utf8(path, line, at);
            return Ok(());
        }
    };
    let (article, highlights) = parse_story(&text);
    let summary = tokenize_summary(highlights.into_iter());
    push_pair(data, path, 1, tokenize_text(&article), summary);
    Ok(())
}

/// Splits a story into article text (paragraphs joined by spaces) and its
/// highlight sentences (the non-blank line after each `@highlight`).
fn parse_story(text: &str) -> (String, Vec<&str>) {
    let mut article: Vec<&str> = Vec::new();
    let mut highlights = Vec::new();
    let mut in_highlights = false;
    let mut expect_highlight = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "@highlight" {
            in_highlights = true;
            expect_highlight = true;
        } else if expect_highlight {
            highlights.push(line);
            expect_highlight = false;
        } else if !in_highlights {
            article.push(line);
        }
    }
    (article.join(" "), highlights)
}

#[cfg(test)]
mod tests {
    use super::BadKind::*;
    use super::*;
    use std::io::Write;

    const CNNDM_VAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm/val");

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("earthmover-text-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        dir
    }

    fn write(path: &Path, bytes: &[u8]) {
        File::create(path).and_then(|mut f| f.write_all(bytes)).expect("write temp file");
    }

    fn pair(article: &str, summary: &str) -> Pair {
        Pair { article: article.into(), summary: summary.into() }
    }

    /// Whether one of the report's messages contains `text`.
    fn said(r: &ReadReport, text: &str) -> bool {
        r.messages.iter().any(|m| m.contains(text))
    }

    #[test]
    fn reads_cnndm_val() {
        if !Path::new(&format!("{CNNDM_VAL}.source.gz")).exists() {
            panic!("{CNNDM_VAL} is missing: the tests read ../shared/data in place");
        }
        let data = read_parallel(Path::new(CNNDM_VAL), Some(1000)).expect("read val");
        assert_eq!(data.pairs.len(), 1000);
        assert_eq!(data.report.bad(), 0, "{:?}", data.report.messages);
        assert!(data.pairs[0].article.starts_with("new delhi ( cnn ) in an unusual public raid"));
        assert!(data.pairs[0].summary.contains(" <q> "));
    }

    #[test]
    fn missing_parallel_names_path() {
        let err = read_parallel(Path::new("/nonexistent/dir/val"), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/dir/val.source"), "{msg}");
        assert!(matches!(
            read_jsonl(Path::new("/nonexistent.jsonl"), None),
            Err(DataError::Open { .. })
        ));
    }

    #[test]
    fn parallel_bad_cases() {
        let dir = temp_dir("parallel");
        write(&dir.join("x.source"), b"a b .\n\nc \xff d .\ne f .\ng h .\nextra 1\nextra 2\n");
        write(&dir.join("x.target"), b"s1 . <q> s2 .\nt2\nt3\n\ns5\n");
        let data = read_parallel(&dir.join("x"), None).expect("read");
        let r = &data.report;
        assert_eq!(data.pairs, [pair("a b .", "s1 . <q> s2 ."), pair("g h .", "s5")]);
        assert_eq!(
            [EmptyArticle, InvalidUtf8, EmptySummary, LineCountMismatch].map(|k| r.count(k)),
            [1, 1, 1, 2]
        );
        assert!(said(r, "x.source:3: InvalidUtf8"), "{:?}", r.messages);
        assert!(said(r, "x.source:6: LineCountMismatch"), "{:?}", r.messages);
        let limited = read_parallel(&dir.join("x"), Some(1)).expect("read");
        assert_eq!(limited.pairs.len(), 1);
    }

    #[test]
    fn parallel_gz() {
        let dir = temp_dir("gz");
        for (name, text) in [("y.source.gz", "a b .\n"), ("y.target.gz", "c .\n")] {
            let f = File::create(dir.join(name)).expect("create");
            let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            enc.write_all(text.as_bytes()).and_then(|_| enc.finish().map(|_| ())).expect("gz");
        }
        let data = read_parallel(&dir.join("y"), None).expect("read");
        assert_eq!(data.pairs, [pair("a b .", "c .")]);
    }

    #[test]
    fn jsonl_records_and_bad_cases() {
        let dir = temp_dir("jsonl");
        let path = dir.join("d.jsonl");
        let good =
            r#"{"article": "The U.S. didn't win (again).", "highlights": "They lost.\nIt's over"}"#;
        let lines =
            [good, "", r#"{"article": "x"}"#, "{not json", r#"{"article": "", "highlights": "h"}"#];
        let mut bytes = lines.join("\n").into_bytes();
        bytes.extend_from_slice(b"\n\xc3\x28\n");
        write(&path, &bytes);
        let data = read_jsonl(&path, None).expect("read");
        assert_eq!(
            data.pairs,
            [pair("the u.s. did n't win ( again ) .", "they lost . <q> it 's over")]
        );
        let r = &data.report;
        assert_eq!(
            [EmptyLine, MissingField, InvalidJson, EmptyArticle, InvalidUtf8].map(|k| r.count(k)),
            [1, 1, 1, 1, 1]
        );
        assert!(r.messages[1].contains("d.jsonl:3: MissingField"), "{:?}", r.messages);
        assert_eq!(r.bad(), 5);
    }

    #[test]
    fn tsv_records_and_bad_cases() {
        let dir = temp_dir("tsv");
        let path = dir.join("d.tsv");
        let mut bytes =
            b"A tool (for tests).\tTest tool\n\nno tab here\na\tb\tc\n\tempty doc\n".to_vec();
        bytes.extend_from_slice(b"x\t\xc3\x28\n");
        write(&path, &bytes);
        let data = read_tsv(&path, None).expect("read");
        assert_eq!(data.pairs, [pair("a tool ( for tests ) .", "test tool")]);
        let r = &data.report;
        assert_eq!(
            [EmptyLine, MissingField, EmptyArticle, InvalidUtf8].map(|k| r.count(k)),
            [1, 2, 1, 1]
        );
        assert!(r.messages[1].contains("d.tsv:3: MissingField"), "{:?}", r.messages);
    }

    #[test]
    fn story_file_and_directory() {
        let dir = temp_dir("story");
        let story = "LONDON (CNN) -- It's a test.\n\nSecond paragraph here.\n\n@highlight\n\nFirst highlight\n\n@highlight\n\nSecond one's here\n";
        write(&dir.join("a.story"), story.as_bytes());
        write(&dir.join("b.story"), b"Only article, no highlights.\n");
        write(&dir.join("c.story"), b"Bad \xff bytes\n@highlight\nh\n");
        let one = read_stories(&dir.join("a.story"), None).expect("read");
        let article = "london ( cnn ) -- it 's a test . second paragraph here .";
        assert_eq!(one.pairs, [pair(article, "first highlight <q> second one 's here")]);
        let all = read_stories(&dir, None).expect("read dir");
        assert_eq!(all.pairs.len(), 1);
        assert_eq!([EmptySummary, InvalidUtf8].map(|k| all.report.count(k)), [1, 1]);
        assert!(said(&all.report, "c.story:1: InvalidUtf8"), "{:?}", all.report.messages);
        let empty = temp_dir("empty");
        assert!(matches!(read_stories(&empty, None), Err(DataError::NoStories { .. })));
    }
}
