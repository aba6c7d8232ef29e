//! Helpers shared by the training integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod net64;

use burn::tensor::Tensor;
use earthmover::gan::train::RealData;
use earthmover::gan::{GanConfig, GanState, Objective, train_step};
use earthmover::toy::{Source, Toy};

pub fn values(t: &Tensor<2>) -> Vec<f32> {
    t.clone().inner().into_data().try_to_vec::<f32>().unwrap()
}

/// Every weight and optimizer state of a run, by name.
pub fn all_params(s: &GanState) -> Vec<(String, Vec<f64>)> {
    let mut v = earthmover::nn::param_values(&s.generator);
    v.extend(earthmover::nn::param_values(&s.critic));
    for opt in [&s.generator_opt, &s.critic_opt] {
        v.extend(opt.state_values());
    }
    v
}

pub fn run(mut s: GanState, c: &GanConfig, steps: usize) -> GanState {
    for _ in 0..steps {
        s = train_step(s, c, &c.data as &dyn RealData).0;
    }
    s
}

pub fn small(objective: &str) -> GanConfig {
    let mut c = GanConfig::paper(
        Objective::from_name(objective).unwrap(),
        Source::Toy(Toy::TwentyFiveGaussians),
    );
    c.hidden = 16;
    c.batch_size = 32;
    c.n_critic = 2;
    c.seed = 42;
    c
}
