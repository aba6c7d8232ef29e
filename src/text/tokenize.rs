//! Tokenizer reproducing the conventions of the CNN/DailyMail data in
//! `shared/data/cnndm` (the widely used "PreSumm" release of See et al.'s
//! data: Stanford CoreNLP PTB tokens, lower-cased, with the PTB bracket and
//! quote escapes mapped back, summaries joined with ` <q> `).
//!
//! Conventions observed in the data and reproduced here:
//!
//! * lower-cased; punctuation split off (`said .`, `( cnn )`, `£ 100,000`,
//!   `79 %`); brackets stay `(` `)` (no `-lrb-`), quotes stay as written
//!   (`"`, `'`, `‘ ’`, `“ ”`; no ```` `` ````);
//! * clitics split: `did n't`, `ca n't`, `wo n't`, `it 's`, `we 've`,
//!   `they 're`, `i 'm`, `you 'll`, `he 'd`, also with curly `’`;
//!   PTB words `gim me`, `gon na`, `wan na`, `got ta`, `lem me`, `can not`;
//! * numbers kept whole: `1,000`, `6.5`, `2:32`, `9/11`, `2013/14`, `-30`,
//!   phone numbers `1-800-273-8255`; football formations `4-2-3-1` become
//!   `4 -2-3-1` as in CoreNLP;
//! * hyphenated words split (`35 - year - old`, `well - known`) except after
//!   the prefixes of CoreNLP's hyphen exceptions (`semi-final`, `pre-season`,
//!   `co-pilot`, `x-ray`, `a-week`) or before `-esque`, `-wise`, …;
//! * abbreviations keep their period (`mr.`, `st.`, `u.s.`, `p.m.`, `l.l.`,
//!   initials `r.`); at a sentence end CoreNLP adds a separate period
//!   (`corp. .`), which we do before a capitalised sentence-opening word or at
//!   the end of the text;
//! * runs `...`, `--`, `***`, `!!`, `?!` are single tokens; `…`, `—`, `–`,
//!   `•` and other symbols are tokens of their own; URLs, e-mail addresses,
//!   `#hashtags`, `@handles` and `there.i`-style run-ons stay whole.
//!
//! Everything works on `char`s and never indexes bytes, so any input
//! (empty, emoji, CJK, control characters, very long) is safe.

/// Tokenizes raw text into lower-cased PTB-style tokens (see module docs).
pub fn tokenize(text: &str) -> Vec<String> {
    let chunks: Vec<&str> = text.split(is_separator).filter(|c| !c.is_empty()).collect();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let chars: Vec<char> = chunk.chars().collect();
        Chunk { c: &chars, next: chunks.get(i + 1).copied(), out: &mut out }.run();
    }
    out.iter_mut().for_each(|t| *t = t.to_lowercase());
    out
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '\u{0300}'..='\u{036f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// Abbreviations that keep their period and never end a sentence.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "mt", "ft", "prof", "gen", "sen", "gov", "rep", "reps", "capt",
    "lt", "sgt", "col", "maj", "adm", "cmdr", "cpl", "pvt", "spc", "rev", "hon", "pres", "supt",
    "insp", "det", "vs", "v", "messrs", "mme", "mlle", "ave", "blvd", "rd", "fig", "vol", "approx",
    "dept", "univ", "esq",
];

/// Abbreviations that keep their period but may end a sentence (CoreNLP then
/// emits an extra `.` token). Abbreviations that are also common words
/// (`sun`, `sat`, `mar`, `ill`, `mass`, …) are left out.
const FINAL_ABBREVS: &[&str] = &[
    "inc", "corp", "co", "ltd", "plc", "jr", "sr", "bros", "etc", "est", "jan", "feb", "mar",
    "apr", "aug", "sep", "sept", "oct", "nov", "dec", "tue", "tues", "wed", "thu", "thurs", "fri",
    "ala", "ariz", "calif", "colo", "conn", "fla", "kan", "ky", "md", "mich", "minn", "mo", "mont",
    "neb", "nev", "okla", "pa", "tenn", "tex", "va", "vt", "wis", "wyo",
];

/// Capitalised words that commonly open a sentence; used to decide whether
/// an abbreviation ends one (`... Corp. The` vs `U.S. Army`).
const STARTERS: &str = "the a an but and he she it they we i in on at this that there his her \
    their its as after when if for so some many while however meanwhile now then yet also what \
    who how why where you my our both all by with from to of was is according during since \
    although despite before these those no not other such each another even just only still until \
    he's it's one two three police officials";

/// First segments kept attached to a hyphen (CoreNLP's hyphen exceptions,
/// checked against the data).
const HYPHEN_PREFIXES: &[&str] = &[
    "a", "agro", "ante", "anti", "arch", "be", "bi", "bio", "co", "counter", "cross", "cyber",
    "de", "e", "eco", "ex", "extra", "inter", "intra", "macro", "mega", "micro", "mid", "mini",
    "multi", "neo", "non", "over", "pan", "para", "peri", "post", "pre", "pro", "pseudo", "quasi",
    "re", "semi", "sub", "super", "tri", "u", "ultra", "un", "uni", "vice", "x",
];

/// Last segments kept attached to a hyphen.
const HYPHEN_SUFFIXES: &[&str] = &[
    "esque", "ette", "fest", "fests", "fold", "gate", "itis", "less", "most", "o-torium", "rama",
    "wise",
];

/// Clitics split off the end of a word (straight and curly apostrophes).
const CLITICS: &[&str] =
    &["n't", "n’t", "'s", "’s", "'m", "’m", "'d", "’d", "'ll", "’ll", "'re", "’re", "'ve", "’ve"];

/// Words that CoreNLP splits in two (PTB conventions), and the character the second part
/// starts at.
fn split_special(lower: &str) -> Option<usize> {
    match lower {
        "cannot" | "gonna" | "gotta" | "wanna" | "gimme" | "lemme" => Some(3),
        "y'all" | "y’all" | "'tis" | "’tis" | "'twas" | "’twas" => Some(2),
        _ => None,
    }
}

/// Scanner over one whitespace-delimited chunk.
struct Chunk<'a> {
    c: &'a [char],
    next: Option<&'a str>,
    out: &'a mut Vec<String>,
}

impl Chunk<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.c.get(i).copied()
    }

    fn is_word_at(&self, i: usize) -> bool {
        self.at(i).is_some_and(is_word_char)
    }

    fn run(&mut self) {
        let mut i = 0;
        while i < self.c.len() {
            i = self.step(i);
        }
    }

    /// The characters `start..end` as a string.
    fn text(&self, start: usize, end: usize) -> String {
        self.c[start..end].iter().collect()
    }

    /// Emits the token starting at `i`, returns the position after it.
    fn step(&mut self, i: usize) -> usize {
        let ch = self.c[i];
        let end = match self.url_end(i) {
            Some(end) => end,
            None if self.starts_word(i) => return self.word(i),
            None if is_apostrophe(ch) => return self.apostrophe(i),
            // A run of `.`, `-`, `*` or `` ` ``, or of `!` and `?` mixed, is one token.
            None => {
                let continues = |c: char| match ch {
                    '.' | '-' | '*' | '`' => c == ch,
                    '!' | '?' => matches!(c, '!' | '?'),
                    _ => false,
                };
                i + 1 + self.c[i + 1..].iter().take_while(|&&c| continues(c)).count()
            }
        };
        self.push(&self.text(i, end));
        end
    }

    fn push(&mut self, tok: &str) {
        if !tok.is_empty() {
            self.out.push(tok.to_string());
        }
    }

    /// A word starts at a letter/digit, at `#`/`@` before one, or at a sign
    /// or decimal point before a digit at the start of the chunk or after an
    /// opening bracket/quote/currency (`-30`, `(+54`, `-2-3-1`, `$.006`).
    fn starts_word(&self, i: usize) -> bool {
        let after_opener =
            i == 0 || matches!(self.c[i - 1], '(' | '[' | '{' | '$' | '£' | '€' | '"' | '“');
        match self.c[i] {
            c if is_word_char(c) => true,
            '#' | '@' => i == 0 && self.is_word_at(i + 1),
            '-' | '+' | '.' => after_opener && self.at(i + 1).is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        }
    }

    /// URLs (`http://…`, `www.…`) run to the end of the chunk, minus trailing
    /// punctuation.
    fn url_end(&self, i: usize) -> Option<usize> {
        let rest: String = self.c[i..].iter().take(8).collect::<String>().to_lowercase();
        let prefixes = ["http://", "https://", "www.", "pic.twit"];
        if !prefixes.iter().any(|p| rest.starts_with(p)) {
            return None;
        }
        let punctuation = |c: &&char| {
            matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '"' | '\'' | '’' | '”')
        };
        Some(self.c.len() - self.c[i + 4..].iter().rev().take_while(punctuation).count())
    }

    /// Whether the punctuation at `j` continues the word that started at `start`.
    fn joins(&self, start: usize, j: usize) -> bool {
        let (Some(prev), Some(next)) = (j.checked_sub(1).and_then(|p| self.at(p)), self.at(j + 1))
        else {
            return false;
        };
        if j == start || !is_word_char(prev) || !is_word_char(next) {
            return false;
        }
        match self.c[j] {
            '.' | '-' | '&' | '@' | '_' => true,
            ',' | ':' | '/' => prev.is_ascii_digit() && next.is_ascii_digit(),
            '\'' | '’' => prev.is_alphabetic() || next.is_alphabetic(),
            '*' => self.at(j + 2) != Some('*') && !matches!(self.at(j.wrapping_sub(2)), Some('*')),
            _ => false,
        }
    }

    fn word(&mut self, start: usize) -> usize {
        let mut j = start + 1;
        while j < self.c.len() && (is_word_char(self.c[j]) || self.joins(start, j)) {
            j += 1;
        }
        let mut word = self.text(start, j);
        // `y'` (as in `y' all`) and `ol'` keep a trailing apostrophe.
        if matches!(word.to_lowercase().as_str(), "y" | "ol")
            && self.at(j).is_some_and(is_apostrophe)
            && !self.is_word_at(j + 1)
        {
            word.push(self.c[j]);
            j += 1;
        }
        if self.at(j) == Some('.') && self.at(j + 1) != Some('.') && self.keeps_period(&word, j + 1)
        {
            let ends_sentence = j + 1 == self.c.len() && self.abbrev_ends_sentence(&word);
            self.emit_word(&format!("{word}."));
            if ends_sentence {
                self.push(".");
            }
            return j + 1;
        }
        self.emit_word(&word);
        j
    }

    /// Whether `word` followed by `.` is an abbreviation keeping its period.
    fn keeps_period(&self, word: &str, after: usize) -> bool {
        let lower = word.to_lowercase();
        if is_acronym(&lower) || [FINAL_ABBREVS, TITLES].iter().any(|l| l.contains(&lower.as_str()))
        {
            return true;
        }
        if lower == "no" {
            // "No. 1" but not "said no."
            let next = self.at(after).or_else(|| self.next.and_then(|n| n.chars().next()));
            return next.is_some_and(|c| c.is_ascii_digit());
        }
        if lower.chars().count() == 1 && lower.chars().all(char::is_alphabetic) {
            // An initial ("John B. Smith"), unless a sentence obviously ends.
            return after < self.c.len() || !self.next_starts_sentence();
        }
        false
    }

    /// CoreNLP adds a `.` after a sentence-final abbreviation; we decide the
    /// sentence ends at the end of the text or before a capitalised opener.
    fn abbrev_ends_sentence(&self, word: &str) -> bool {
        let lower = word.to_lowercase();
        if TITLES.contains(&lower.as_str()) || lower.chars().count() == 1 {
            return false;
        }
        let Some(next) = self.next else { return true };
        if lower == "etc" { opens_capitalised(next) } else { self.next_starts_sentence() }
    }

    fn next_starts_sentence(&self) -> bool {
        let Some(next) = self.next else { return true };
        if !opens_capitalised(next) {
            return false;
        }
        let word: String = next
            .chars()
            .skip_while(|c| !c.is_alphanumeric())
            .take_while(|c| c.is_alphanumeric() || is_apostrophe(*c))
            .collect::<String>()
            .to_lowercase();
        STARTERS.split(' ').any(|s| s == word)
    }

    /// A straight or curly apostrophe not inside a word: a leading clitic
    /// (`'s`, `'em`, `'90s`, `'tis`), `''`, or a lone quote.
    fn apostrophe(&mut self, i: usize) -> usize {
        if self.c[i] == '\'' && self.at(i + 1) == Some('\'') {
            self.push("''");
            return i + 2;
        }
        let j = i + 1 + self.c[i + 1..].iter().take_while(|&&c| is_word_char(c)).count();
        let cand = self.text(i, j);
        let body = self.text(i + 1, j).to_lowercase();
        let known = CLITICS.contains(&cand.to_lowercase().as_str())
            || matches!(body.as_str(), "em" | "cause" | "til" | "n" | "tis" | "twas")
            || body.starts_with(|c: char| c.is_ascii_digit());
        if j > i + 1 && known && !self.joins(i + 1, j) {
            self.emit_word(&cand);
            return j;
        }
        self.push(&self.c[i].to_string());
        i + 1
    }

    /// Splits clitics, PTB special words and hyphens off a scanned word.
    fn emit_word(&mut self, word: &str) {
        let lower = word.to_lowercase();
        let clitic = || {
            let clitic = CLITICS.iter().find(|c| lower.ends_with(*c) && lower.len() > c.len())?;
            Some(word.chars().count() - clitic.chars().count())
        };
        // (A special word's first part, `gon` or `'t`, splits no further.)
        if let Some(k) = split_special(&lower).or_else(clitic) {
            let at = word.char_indices().nth(k).map_or(word.len(), |(at, _)| at);
            self.emit_word(&word[..at]);
            self.push(&word[at..]);
            return;
        }
        for part in split_hyphens(word) {
            self.push(&part);
        }
    }
}

/// Whether the first letter or digit of `s` is a capital.
fn opens_capitalised(s: &str) -> bool {
    s.chars().find(|c| c.is_alphanumeric()).is_some_and(char::is_uppercase)
}

/// `u.s`, `p.m`, `l.l`, `d.c`: letter groups of at most two, dot-separated.
fn is_acronym(lower: &str) -> bool {
    lower.contains('.')
        && lower
            .split('.')
            .all(|s| (1..=2).contains(&s.chars().count()) && s.chars().all(char::is_alphabetic))
}

fn is_numeric_segment(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '/' | ':'))
}

/// CoreNLP's hyphen handling (see module docs).
fn split_hyphens(word: &str) -> Vec<String> {
    let segs: Vec<&str> = word.split('-').collect();
    if segs.len() < 2
        || segs.iter().any(|s| s.is_empty())
        || segs.iter().any(|s| s.contains('.') && !is_numeric_segment(s))
    {
        return vec![word.to_string()];
    }
    if segs.iter().all(|s| is_numeric_segment(s)) {
        if segs.len() == 2 {
            return vec![segs[0].to_string(), "-".to_string(), segs[1].to_string()];
        }
        if segs.iter().any(|s| s.chars().count() >= 3) {
            return vec![word.to_string()];
        }
        return vec![segs[0].to_string(), format!("-{}", segs[1..].join("-"))];
    }
    let mut out = Vec::new();
    let mut cur = segs[0].to_string();
    let mut last = segs[0].to_lowercase();
    for seg in &segs[1..] {
        let lower = seg.to_lowercase();
        if HYPHEN_PREFIXES.contains(&last.as_str()) || HYPHEN_SUFFIXES.contains(&lower.as_str()) {
            cur.push('-');
            cur.push_str(seg);
        } else {
            out.push(std::mem::take(&mut cur));
            out.push("-".to_string());
            cur = seg.to_string();
        }
        last = lower;
    }
    out.push(cur);
    out
}

// ---------------------------------------------------------------------------
// Detokenization
// ---------------------------------------------------------------------------

/// Turns tokens back into readable text: PTB escapes undone (`-lrb-` → `(`,
/// ```` `` ```` / `''` → `"`), punctuation and clitics re-attached
/// (`do n't` → `don't`, `gon na` → `gonna`), simple hyphens re-joined
/// (`35 - year - old` → `35-year-old`), the doubled period after a
/// sentence-final abbreviation dropped, and sentences capitalised.
/// [`tokenize`] of the result gives back nearly the same tokens.
pub fn detokenize(tokens: &[String]) -> String {
    let toks: Vec<&str> =
        tokens.iter().map(|t| unescape(t.as_str())).filter(|t| !t.is_empty()).collect();
    let mut out = String::new();
    let (mut quote_open, mut cap_next, mut glue_next) = (false, true, false);
    for (i, &tok) in toks.iter().enumerate() {
        let prev = if i > 0 { toks[i - 1] } else { "" };
        let next = toks.get(i + 1).copied().unwrap_or("");
        if tok == "." && prev.ends_with('.') && prev.chars().any(char::is_alphanumeric) {
            cap_next = true;
            continue;
        }
        let mut attach = glue_next || out.is_empty() || attaches_left(tok, prev, next);
        glue_next = opens_right(tok);
        if tok == "\"" {
            attach = attach || quote_open;
            glue_next = !quote_open;
            quote_open = !quote_open;
        }
        if tok == "-" && ends_alnum(prev) && starts_alnum(next) {
            attach = true;
            glue_next = true;
        }
        if !attach {
            out.push(' ');
        }
        if cap_next && tok.chars().any(char::is_alphanumeric) {
            push_capitalised(&mut out, tok);
            cap_next = false;
        } else if tok == "i" {
            out.push('I');
        } else {
            out.push_str(tok);
        }
        cap_next |= is_terminal(tok);
    }
    out
}

fn unescape(tok: &str) -> &str {
    match tok {
        "-lrb-" | "-LRB-" => "(",
        "-rrb-" | "-RRB-" => ")",
        "-lsb-" | "-LSB-" => "[",
        "-rsb-" | "-RSB-" => "]",
        "-lcb-" | "-LCB-" => "{",
        "-rcb-" | "-RCB-" => "}",
        "``" | "''" => "\"",
        _ => tok,
    }
}

fn ends_alnum(s: &str) -> bool {
    s.chars().last().is_some_and(char::is_alphanumeric)
}

fn starts_alnum(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_alphanumeric)
}

/// Tokens written without a space before them.
fn attaches_left(tok: &str, prev: &str, next: &str) -> bool {
    if CLITICS.contains(&tok) {
        return true;
    }
    let ptb_second = matches!(
        (prev, tok),
        ("gon", "na") | ("wan", "na") | ("got", "ta") | ("gim", "me") | ("lem", "me")
    );
    let possessive = (tok == "'" || tok == "’") && prev.ends_with('s') && starts_alnum(next);
    let dots_after_period = tok.starts_with('.') && prev.ends_with('.');
    !dots_after_period
        && (ptb_second
            || possessive
            || matches!(tok, "," | ";" | ":" | "%" | ")" | "]" | "}" | "”")
            || is_terminal(tok)
            || tok == "...")
}

/// Tokens written without a space after them.
fn opens_right(tok: &str) -> bool {
    matches!(tok, "(" | "[" | "{" | "$" | "£" | "€" | "“")
}

/// Pushes `tok` with its first letter upper-cased.
fn push_capitalised(out: &mut String, tok: &str) {
    let k = tok.find(char::is_alphabetic).unwrap_or(tok.len());
    let mut rest = tok[k..].chars();
    out.push_str(&tok[..k]);
    out.extend(rest.next().into_iter().flat_map(char::to_uppercase));
    out.push_str(rest.as_str());
}

// ---------------------------------------------------------------------------
// Sentences
// ---------------------------------------------------------------------------

/// Splits a target line of the parallel data into its summary sentences
/// (separated by `<q>`), trimmed, empty ones dropped.
pub fn split_summary_sentences(target: &str) -> Vec<String> {
    target.split("<q>").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Splits already tokenized text (space-separated tokens) into sentences.
///
/// A sentence ends after a token made only of `.`, `!`, `?` (not `...`),
/// together with any closing quotes that follow it: `''`, `”`, `’`, and a
/// `"` when a double quote is currently open (quotes are tracked by parity,
/// because this data writes opening and closing quotes the same way).
pub fn split_sentences(tokenized: &str) -> Vec<String> {
    let mut sents = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let (mut quote_open, mut ended) = (false, false);
    for tok in tokenized.split_whitespace() {
        let closes = matches!(tok, "''" | "”" | "’") || (tok == "\"" && quote_open);
        if ended && !closes {
            sents.push(cur.join(" "));
            cur.clear();
        }
        // Still ended: the closing quotes after a terminal belong to its sentence.
        ended = is_terminal(tok) || (ended && closes);
        quote_open ^= tok == "\"";
        cur.push(tok);
    }
    if !cur.is_empty() {
        sents.push(cur.join(" "));
    }
    sents
}

fn is_terminal(tok: &str) -> bool {
    tok != "..." && !tok.is_empty() && tok.chars().all(|c| matches!(c, '.' | '!' | '?'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    fn toks(s: &str) -> String {
        tokenize(s).join(" ")
    }

    #[test]
    fn known_sentences() {
        let cases = [
            (
                "NEW DELHI (CNN) In an unusual raid, authorities said Friday.",
                "new delhi ( cnn ) in an unusual raid , authorities said friday .",
            ),
            (
                "The 35-year-old suspect didn't say, \"Gimme that.\"",
                "the 35 - year - old suspect did n't say , \" gim me that . \"",
            ),
            (
                "It's £100,000-a-week; he can't, won't and I'm gonna.",
                "it 's £ 100,000 - a-week ; he ca n't , wo n't and i 'm gon na .",
            ),
            (
                "A semi-final at 5:30 p.m. in the U.S. cost $3.5 million (79%).",
                "a semi-final at 5:30 p.m. in the u.s. cost $ 3.5 million ( 79 % ) .",
            ),
            (
                "Stoke (4-2-3-1): Begovic 6.5 -- wait... what?!",
                "stoke ( 4 -2-3-1 ) : begovic 6.5 -- wait ... what ?!",
            ),
            (
                "Mr. O'Neill’s team — the ‘best’ — lost 2-1.",
                "mr. o'neill ’s team — the ‘ best ’ — lost 2 - 1 .",
            ),
            (
                "Visit www.dailymail.co.uk/news, or call 1-800-273-8255.",
                "visit www.dailymail.co.uk/news , or call 1-800-273-8255 .",
            ),
            (
                "He works for Acme Corp. The firm is big.",
                "he works for acme corp. . the firm is big .",
            ),
            (
                "Tweeted @bbc #GimmeFive in the '90s; y'all know.",
                "tweeted @bbc #gimmefive in the '90s ; y' all know .",
            ),
            (
                "The tech-savvy, Bond-esque ex-wife of 9/11 fame",
                "the tech - savvy , bond-esque ex-wife of 9/11 fame",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(toks(raw), want, "tokenize({raw:?})");
        }
    }

    #[test]
    fn detokenize_reads_well() {
        let t: Vec<String> = "the 35 - year - old did n't go to the u.s. . he said : \" it 's fine ( really ) . \" gon na"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            detokenize(&t),
            "The 35-year-old didn't go to the u.s. He said: \"it's fine (really).\" Gonna"
        );
        let p: Vec<String> =
            ["-lrb-", "cnn", "-rrb-", "``", "hi", "''"].iter().map(|s| s.to_string()).collect();
        assert_eq!(detokenize(&p), "(Cnn) \"hi\"");
    }

    #[test]
    fn never_panics() {
        let nasty = [
            "",
            " ",
            "\u{0}\u{1}\t\r\n",
            "😀👍🏽👨‍👩‍👧",
            "漢字かなカナ한국어",
            "'",
            "''",
            "'''",
            "-",
            "--",
            "-.",
            ".-",
            "#",
            "@",
            "a'",
            "'a",
            "n't",
            "'s",
            "a-",
            "-a",
            "a--b",
            "1-",
            "-1-",
            "e\u{301}",
            "\u{301}",
            "...",
            "u.s.",
            "u.s..",
            "‘’“”",
        ];
        for s in nasty {
            let t = tokenize(s);
            let _ = detokenize(&t);
        }
        let big = "Hello, world! It's 3.5 (ok) — fine. ".repeat(300_000);
        assert!(tokenize(&big).len() > 1_000_000);
    }

    #[test]
    fn summary_sentences() {
        assert_eq!(split_summary_sentences("a b . <q> c d . <q> "), ["a b .", "c d ."]);
        assert!(split_summary_sentences("").is_empty());
    }

    #[test]
    fn sentences_with_quotes() {
        let s = split_sentences("he said . \" there were many . \" doungal said : \" yes ! \" ok");
        assert_eq!(s, ["he said .", "\" there were many . \"", "doungal said : \" yes ! \"", "ok"]);
    }

    const VAL_SOURCE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/cnndm/val.source.gz");

    /// Token-level agreement between the data's tokens and
    /// `tokenize(detokenize(tokens))`: 2·LCS / (|a| + |b|) over all lines.
    #[test]
    fn detokenize_then_tokenize_reproduces_val_tokens() {
        let Ok(file) = std::fs::File::open(VAL_SOURCE) else {
            panic!("{VAL_SOURCE} is missing: the tests read ../shared/data in place");
        };
        let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
        let (mut matched, mut total, mut exact_lines, mut lines) = (0usize, 0usize, 0usize, 0usize);
        for line in reader.lines().take(200) {
            let line = line.expect("read val.source.gz");
            let orig: Vec<String> = line.split_whitespace().map(String::from).collect();
            let again = tokenize(&detokenize(&orig));
            matched += 2 * crate::text::rouge::lcs_len(&orig, &again);
            total += orig.len() + again.len();
            exact_lines += usize::from(orig == again);
            lines += 1;
        }
        let agreement = matched as f64 / total as f64;
        eprintln!(
            "round-trip token agreement over {lines} lines: {:.4}% ({exact_lines} lines exact)",
            100.0 * agreement
        );
        assert!(agreement >= 0.97, "agreement {agreement}");
    }
}
