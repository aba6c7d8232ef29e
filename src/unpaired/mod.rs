//! Unpaired summarization with a WGAN (Wang & Lee 2018, seed 000): a generator (the
//! pointer-generator) writes a short hidden summary of a document, a reconstructor rebuilds the
//! document from it, and a critic trained on human summaries of *other* documents makes the
//! hidden summary readable.
//!
//! Nothing here is a GAN of its own. The critic's objectives, gradient penalty and update are
//! the GAN lab's ([`crate::gan::objective`], [`crate::gan::train::update_critic`]); this module
//! only supplies a critic that reads a sequence of word distributions ([`critic::SeqCritic`]).

pub mod config;
pub mod critic;
pub mod data;
pub mod lm;
pub mod search;
// Training reads the generator's words back at every step, synchronously: natively on any
// device, in the browser on Flex only (a WebGPU read there must be awaited). The page's
// Unpaired tab trains on Flex.
pub mod store;
pub mod train;
