//! Text for the summarizer: tokenization matching the CNN/DailyMail data, the three data
//! formats, and ROUGE exactly as Google's `rouge-score` computes it.

pub mod data;
pub mod porter;
pub mod rouge;
pub mod tokenize;
