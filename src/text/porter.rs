//! Porter stemmer, matching NLTK's `PorterStemmer()` in its default
//! `NLTK_EXTENSIONS` mode.
//!
//! Google's `rouge-score` package (`rouge_score/tokenizers.py`, v0.1.2)
//! builds its stemmer as `nltk.stem.porter.PorterStemmer()` with no
//! arguments, i.e. mode `NLTK_EXTENSIONS` — not `ORIGINAL_ALGORITHM`. That
//! mode differs from Porter's 1980 paper in these ways, all reproduced here:
//!
//! * a small table of irregular forms (`dying` → `die`, `news` → `news`, …);
//! * words of at most two characters are returned unchanged;
//! * step 1a: `ies` on a 4-letter word → `ie` (`ties` → `tie`);
//! * step 1b: `ied` → `ie` (4-letter word) or `i`;
//! * step 1c: `y` → `i` only after a consonant that is not the first letter;
//! * step 2: `alli` → `al` then step 2 again, `bli` → `ble` (not `abli`),
//!   plus `fulli` → `ful` and `logi` → `log`;
//! * condition *o also accepts a two-letter vowel–consonant stem.
//!
//! Everything is written from the algorithm's description; the rule order
//! matters because the first rule whose *suffix* matches decides, even when
//! its condition then fails (the word is left as is).

/// Stems one word the way `nltk.stem.porter.PorterStemmer().stem(word)` does.
///
/// The word is lower-cased first. Non-ASCII letters are handled as
/// consonants, as in NLTK.
pub fn stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(irregular) = irregular_form(&lower) {
        return irregular.to_string();
    }
    // NLTK tests the length of the word as given, before lower-casing.
    if word.chars().count() <= 2 {
        return lower;
    }
    let steps: [fn(Vec<char>) -> Vec<char>; 8] =
        [step1a, step1b, step1c, step2, step3, step4, step5a, step5b];
    steps.iter().fold(lower.chars().collect(), |w, step| step(w)).into_iter().collect()
}

/// NLTK's `pool` of irregular forms (only used in `NLTK_EXTENSIONS` mode).
fn irregular_form(word: &str) -> Option<&'static str> {
    Some(match word {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

fn is_vowel_letter(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Consonant flag for every position: `y` is a consonant at the start or
/// after a vowel, a vowel after a consonant.
fn consonant_flags(w: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(w.len());
    for &c in w {
        let cons = match c {
            'y' => flags.last().is_none_or(|&prev| !prev),
            c => !is_vowel_letter(c),
        };
        flags.push(cons);
    }
    flags
}

fn is_consonant(w: &[char], i: usize) -> bool {
    consonant_flags(&w[..=i])[i]
}

/// The measure m of `[C](VC){m}[V]`: the number of vowel→consonant changes.
fn measure(w: &[char]) -> usize {
    let flags = consonant_flags(w);
    flags.windows(2).filter(|p| !p[0] && p[1]).count()
}

fn contains_vowel(w: &[char]) -> bool {
    consonant_flags(w).iter().any(|&c| !c)
}

/// Condition *d: ends with a double consonant.
fn ends_double_consonant(w: &[char]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

/// Condition *o: ends consonant–vowel–consonant, the last not w, x or y;
/// NLTK also accepts a two-letter vowel–consonant word.
fn ends_cvc(w: &[char]) -> bool {
    let n = w.len();
    let f = consonant_flags(w);
    (n >= 3 && f[n - 3] && !f[n - 2] && f[n - 1] && !matches!(w[n - 1], 'w' | 'x' | 'y'))
        || (n == 2 && !f[0] && f[1])
}

fn ends_with(w: &[char], suffix: &str) -> bool {
    let s: Vec<char> = suffix.chars().collect();
    w.len() >= s.len() && w[w.len() - s.len()..] == s[..]
}

fn strip(w: &[char], suffix: &str) -> Vec<char> {
    w[..w.len() - suffix.chars().count()].to_vec()
}

fn with(mut stem: Vec<char>, replacement: &str) -> Vec<char> {
    stem.extend(replacement.chars());
    stem
}

/// Applies the first rule whose suffix matches; if `cond` fails on the stem
/// the word is returned unchanged (later rules are not tried).
fn apply_rules(w: Vec<char>, rules: &[(&str, &str)], cond: fn(&[char]) -> bool) -> Vec<char> {
    let Some(&(suffix, replacement)) = rules.iter().find(|(suffix, _)| ends_with(&w, suffix))
    else {
        return w;
    };
    let stem = strip(&w, suffix);
    if cond(&stem) { with(stem, replacement) } else { w }
}

fn step1a(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "ies") && w.len() == 4 {
        return with(strip(&w, "ies"), "ie");
    }
    apply_rules(w, &[("sses", "ss"), ("ies", "i"), ("ss", "ss"), ("s", "")], |_| true)
}

fn step1b(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "ied") {
        let rep = if w.len() == 4 { "ie" } else { "i" };
        return with(strip(&w, "ied"), rep);
    }
    if ends_with(&w, "eed") {
        return apply_rules(w, &[("eed", "ee")], |s| measure(s) > 0);
    }
    let stem = ["ed", "ing"].into_iter().find(|s| ends_with(&w, s)).map(|s| strip(&w, s));
    match stem {
        Some(s) if contains_vowel(&s) => step1b_tidy(s),
        _ => w,
    }
}

/// The clean-up after removing `ed` / `ing` in step 1b.
fn step1b_tidy(mut s: Vec<char>) -> Vec<char> {
    for (suffix, rep) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] {
        if ends_with(&s, suffix) {
            return with(strip(&s, suffix), rep);
        }
    }
    if ends_double_consonant(&s) {
        if !matches!(s.last(), Some('l' | 's' | 'z')) {
            s.pop();
        }
        return s;
    }
    if measure(&s) == 1 && ends_cvc(&s) {
        return with(s, "e");
    }
    s
}

fn step1c(w: Vec<char>) -> Vec<char> {
    apply_rules(w, &[("y", "i")], |s| s.len() > 1 && is_consonant(s, s.len() - 1))
}

const STEP2_RULES: &[(&str, &str)] = &[
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("bli", "ble"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
    ("fulli", "ful"),
];

fn step2(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "alli") && measure(&strip(&w, "alli")) > 0 {
        return step2(with(strip(&w, "alli"), "al"));
    }
    // NLTK's `logi` rule tests the measure of the word minus "ogi". (No other rule's suffix
    // ends a word ending in `logi`, so testing it first changes nothing.)
    if ends_with(&w, "logi") {
        return if measure(&w[..w.len() - 3]) > 0 { with(strip(&w, "logi"), "log") } else { w };
    }
    apply_rules(w, STEP2_RULES, |s| measure(s) > 0)
}

const STEP3_RULES: &[(&str, &str)] = &[
    ("icate", "ic"),
    ("ative", ""),
    ("alize", "al"),
    ("iciti", "ic"),
    ("ical", "ic"),
    ("ful", ""),
    ("ness", ""),
];

fn step3(w: Vec<char>) -> Vec<char> {
    apply_rules(w, STEP3_RULES, |s| measure(s) > 0)
}

/// Step 4's suffixes, all removed when m > 1 (`ion` only after `s` or `t`).
const STEP4_SUFFIXES: &[&str] = &[
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou",
    "ism", "ate", "iti", "ous", "ive", "ize",
];

fn step4(w: Vec<char>) -> Vec<char> {
    let Some(suffix) = STEP4_SUFFIXES.iter().find(|s| ends_with(&w, s)) else {
        return w;
    };
    let stem = strip(&w, suffix);
    let ion_ok = *suffix != "ion" || matches!(stem.last(), Some('s' | 't'));
    if measure(&stem) > 1 && ion_ok { stem } else { w }
}

fn step5a(w: Vec<char>) -> Vec<char> {
    apply_rules(w, &[("e", "")], |s| match measure(s) {
        0 => false,
        1 => !ends_cvc(s),
        _ => true,
    })
}

fn step5b(mut w: Vec<char>) -> Vec<char> {
    // Condition is on the word minus one `l`, as in NLTK.
    if ends_with(&w, "ll") && measure(&w[..w.len() - 1]) > 1 {
        w.pop();
    }
    w
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn paper_examples() {
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflat"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("generalization", "gener"),
            ("controlling", "control"),
            ("dying", "die"),
            ("news", "news"),
            ("is", "is"),
            ("enjoy", "enjoy"),
            ("analogies", "analog"),
            ("", ""),
            ("yyyy", "yyyi"),
        ];
        for (word, want) in cases {
            assert_eq!(stem(word), want, "stem({word})");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for w in ["ééé", "ied", "eed", "ing", "ll", "y", "yed", "💥💥💥ing", "1234", "aaaaalli"]
        {
            let _ = stem(w);
        }
    }
}
