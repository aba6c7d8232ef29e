//! The pages' training loop, the browser's twin of the CLI's driver (`cli::driver::drive`).
//! The GAN lab, the Align tab and the Unpaired tab each keep their models in a [`Trainer`] and
//! hand it their step; the trainer owns what each page used to write for itself:
//! - the models, lent to one piece of work at a time ([`Trainer::lend`]) and taken back only
//!   if no Reset came meanwhile: a Reset bumps the generation, and work begun before it drops
//!   the models it holds;
//! - the loop ([`Trainer::start`]): a step, then yielding to the browser, while the page runs
//!   and until the step says it is done; Pause stops it after the step in flight, and a
//!   restart between two steps leaves one loop running, not two;
//! - the end: the loop's error goes to the page's error line, then the page's `done` runs,
//!   except after a Reset;
//! - the charts' histories, thinned as they grow ([`push_thinned`]).
//!
//! The step itself is the library's pure function (`gan::train::train_step`,
//! `align::adversarial::align_step`, `unpaired::train::train_step`), as in the CLI.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::yield_to_browser;

/// A page's models and its training loop (see the module docs).
pub struct Trainer<M: 'static> {
    models: StoredValue<Option<M>, LocalStorage>,
    /// Bumped by every Reset, so work begun before it stops.
    generation: StoredValue<u64>,
    /// Bumped by every start, so only the latest loop runs.
    loop_id: StoredValue<u64>,
    /// Whether the loop runs: Pause sets it false, and the loop stops after its step.
    pub running: RwSignal<bool>,
}

impl<M> Clone for Trainer<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Trainer<M> {}

impl<M: 'static> Default for Trainer<M> {
    fn default() -> Self {
        Trainer {
            models: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            loop_id: StoredValue::new(0),
            running: RwSignal::new(false),
        }
    }
}

impl<M: 'static> Trainer<M> {
    /// Stops the loop and puts `models` in place (None: none yet); work begun before drops the
    /// models it holds.
    pub fn reset(self, models: Option<M>) {
        self.running.set(false);
        self.generation.update_value(|g| *g += 1);
        self.models.set_value(models);
    }

    /// The current generation: work that began in it is current until the next Reset.
    pub fn generation(self) -> u64 {
        self.generation.get_value()
    }

    pub fn is_current(self, generation: u64) -> bool {
        self.generation.get_value() == generation
    }

    /// Reads the models; None when there are none or they are lent out.
    pub fn with<R>(self, f: impl FnOnce(&M) -> R) -> Option<R> {
        self.models.with_value(|m| m.as_ref().map(f))
    }

    /// Lends the models to `work`, which hands them back with its result (None when it used
    /// them up: a step that failed half-way, after which the page must Reset). They are taken
    /// back unless a Reset came meanwhile: then the result is None, the work's models being
    /// stale. An error when there were none to lend (not built yet, or lent to other work).
    pub async fn lend<R>(
        self,
        work: impl AsyncFnOnce(M) -> (Option<M>, R),
    ) -> Result<Option<R>, String> {
        let generation = self.generation();
        let Some(models) = self.models.try_update_value(|m| m.take()).flatten() else {
            return Err("the models are not ready yet".into());
        };
        let (models, result) = work(models).await;
        if !self.is_current(generation) {
            return Ok(None);
        }
        self.models.set_value(models);
        Ok(Some(result))
    }

    /// Runs `step` again and again, yielding to the browser after each, while the page runs
    /// and until `step` returns `Ok(false)` (its budget is spent) or an error. Then the error,
    /// if any, is shown in `error` and `done` runs, unless a Reset or a newer loop took over
    /// meanwhile. Returns false, starting nothing, when a loop already runs.
    pub fn start(
        self,
        error: RwSignal<Option<String>>,
        mut step: impl AsyncFnMut() -> Result<bool, String> + 'static,
        done: impl AsyncFnOnce() + 'static,
    ) -> bool {
        if self.running.get_untracked() {
            return false;
        }
        self.running.set(true);
        let generation = self.generation();
        self.loop_id.update_value(|l| *l += 1);
        let me = self.loop_id.get_value();
        let latest = move || self.is_current(generation) && self.loop_id.get_value() == me;
        spawn_local(async move {
            let mut failed = None;
            while self.running.get_untracked() && latest() {
                match step().await {
                    Ok(true) => yield_to_browser().await,
                    Ok(false) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if latest() {
                self.running.set(false);
                if let Some(e) = failed {
                    error.set(Some(e));
                }
                done().await;
            }
        });
        true
    }
}

/// Points a chart keeps before [`push_thinned`] thins them.
pub const MAX_POINTS: usize = 4000;

/// Appends `point` to a chart's history. Past [`MAX_POINTS`] it keeps every other point and
/// those `keep` marks, so a long run's charts stay light to draw.
pub fn push_thinned<P>(history: &mut Vec<P>, point: P, keep: impl Fn(&P) -> bool) {
    history.push(point);
    if history.len() > MAX_POINTS {
        let mut i = 0;
        history.retain(|p| {
            i += 1;
            (i - 1) % 2 == 0 || keep(p)
        });
    }
}
