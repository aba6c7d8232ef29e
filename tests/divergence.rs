//! The divergence explorer's numbers: every closed form against the seeds' own numbers, and
//! the networks' estimates against the closed forms.

use std::f64::consts::LN_2;

use burn::tensor::Device;
use earthmover::divergence::density::{Gauss, Mixture};
use earthmover::divergence::emd::{self, EmdError, TWO_BOXES};
use earthmover::divergence::estimate::{Divergence, EstimatorConfig, fit, linear_r2};
use earthmover::divergence::lines::{Line, Normal1d, closed_form, closed_gradient};
use earthmover::divergence::xy::{self, Update};
use earthmover::divergence::{kl_fit, optimal_d};
use earthmover::rng::Rng;
use earthmover::transport::{assignment, exact_w1};

#[test]
fn parallel_lines_closed_forms() {
    for theta in [0.5, -0.5, 1.0, 1e-9] {
        let d = closed_form(theta);
        assert_eq!((d.kl, d.kl_reverse), (f64::INFINITY, f64::INFINITY));
        assert_eq!(d.js, LN_2);
        // The paper prints log 2 as 0.693: checked as a number, not as the constant.
        #[allow(clippy::approx_constant)]
        let printed = 0.693147;
        assert!((d.js - printed).abs() < 1e-6);
        assert_eq!(d.w, theta.abs());
        assert_eq!(closed_gradient(theta), (0.0, theta.signum()));
    }
    let zero = closed_form(0.0);
    assert_eq!((zero.kl, zero.kl_reverse, zero.js, zero.w), (0.0, 0.0, 0.0, 0.0));
}

/// Seed 004: δ = 0, 2, 2, −1, 0 and total work Σ|δ| = 5; the plan's own cost agrees.
#[test]
fn seed004_delta_recursion() {
    let c = emd::cumulative(&[3.0, 2.0, 1.0, 4.0], &[1.0, 2.0, 4.0, 3.0]).unwrap();
    assert_eq!(c.deltas, vec![0.0, 2.0, 2.0, -1.0, 0.0]);
    assert_eq!(c.total, 5.0);
    assert!(c.notes.is_empty());
    let bins = [0.0, 1.0, 2.0, 3.0];
    assert!((emd::plan_cost(&c.flows, &bins, &bins) - 5.0).abs() < 1e-12);
    // The plan moves exactly P out and Q in.
    for (i, want) in [3.0, 2.0, 1.0, 4.0].iter().enumerate() {
        assert!(
            (c.flows.iter().filter(|f| f.from == i).map(|f| f.mass).sum::<f64>() - want).abs()
                < 1e-12
        );
    }
    for (j, want) in [1.0, 2.0, 4.0, 3.0].iter().enumerate() {
        assert!(
            (c.flows.iter().filter(|f| f.to == j).map(|f| f.mass).sum::<f64>() - want).abs()
                < 1e-12
        );
    }
}

/// The recursion against brute force: the optimal assignment of unit masses.
#[test]
fn cumulative_matches_assignment_on_random_histograms() {
    let mut rng = Rng::new(3);
    for _ in 0..50 {
        let n = 1 + rng.below(6);
        let p: Vec<f64> = (0..n).map(|_| rng.below(4) as f64).collect();
        let mut q = vec![0.0; n];
        let mass: f64 = p.iter().sum();
        if mass == 0.0 {
            continue;
        }
        for _ in 0..mass as usize {
            q[rng.below(n)] += 1.0;
        }
        let units = |h: &[f64]| {
            h.iter()
                .enumerate()
                .flat_map(|(i, &m)| std::iter::repeat_n(i as f64, m as usize))
                .collect::<Vec<_>>()
        };
        let (a, b) = (units(&p), units(&q));
        let best = assignment(a.len(), |i, j| (a[i] - b[j]).abs()).cost * a.len() as f64;
        assert!((emd::cumulative(&p, &q).unwrap().total - best).abs() < 1e-9, "{p:?} {q:?}");
    }
}

/// Seed 002: the written plan costs 3.5, is a valid plan, and 3.5 is the optimum.
#[test]
fn seed002_emd_is_3_5() {
    let (p, q, plan) = emd::seed002_example();
    let xs: Vec<f64> = p.iter().map(|v| v.0).collect();
    let ys: Vec<f64> = q.iter().map(|v| v.0).collect();
    assert!((emd::plan_cost(&plan, &xs, &ys) - 3.5).abs() < 1e-12);
    for (i, (_, m)) in p.iter().enumerate() {
        assert!(
            (plan.iter().filter(|f| f.from == i).map(|f| f.mass).sum::<f64>() - m).abs() < 1e-12
        );
    }
    for (j, (_, m)) in q.iter().enumerate() {
        assert!((plan.iter().filter(|f| f.to == j).map(|f| f.mass).sum::<f64>() - m).abs() < 1e-12);
    }
    assert!((emd::w1_line(&p, &q) - 3.5).abs() < 1e-12);
}

/// Seed 001's boxes at 3 and 8 moved to 5 and 7: plans cost 3 and 7; the optimum is 3.
#[test]
fn two_boxes() {
    let plans = TWO_BOXES.plans();
    assert_eq!(plans[0], ([0, 1], 3.0));
    assert_eq!(plans[1], ([1, 0], 7.0));
    let best = assignment(2, |i, j| (TWO_BOXES.boxes[i] - TWO_BOXES.targets[j]).abs()).cost * 2.0;
    assert_eq!(best, 3.0);
}

#[test]
fn bad_histograms_get_messages() {
    let err = |a: &str, b: &str| {
        let p = emd::parse_histogram(a, "P");
        let q = emd::parse_histogram(b, "Q");
        match (p, q) {
            (Ok(p), Ok(q)) => emd::cumulative(&p, &q).err(),
            (Err(e), _) | (_, Err(e)) => Some(e),
        }
    };
    assert_eq!(err("", "1"), Some(EmdError::Empty("P")));
    assert_eq!(err("0, 0", "1"), Some(EmdError::NoMass("P")));
    assert!(matches!(err("1, -2", "1"), Some(EmdError::Negative { index: 1, .. })));
    assert!(matches!(err("1, x", "1"), Some(EmdError::NotANumber { .. })));
    assert_eq!(err("1e308, 1e308", "1"), Some(EmdError::TooLarge("P")));
    assert!(err("NaN", "1").is_some());
    assert!(err("1", "inf").is_some());
    for e in [err("", "1"), err("0", "1"), err("1e308,1e308", "1")] {
        assert!(e.unwrap().to_string().contains('P'));
    }
    // Unequal mass: Q is rescaled to P's total, and a note says so.
    let c = emd::cumulative(&[1.0, 1.0], &[0.0, 4.0]).unwrap();
    assert_eq!(c.q, vec![0.0, 2.0]);
    assert_eq!(c.total, 1.0);
    assert!(c.notes[0].contains("rescaled"), "{:?}", c.notes);
    // Different lengths are padded.
    let c = emd::cumulative(&[1.0], &[0.0, 0.0, 1.0]).unwrap();
    assert_eq!(c.total, 2.0);
    assert_eq!(c.notes.len(), 1);
    // Huge but summable values work.
    assert!((emd::cumulative(&[1e140, 0.0], &[0.0, 1e140]).unwrap().total - 1e140).abs() < 1e126);
}

/// 2-D plans: equal sizes agree with the Hungarian method; unequal sizes agree with the
/// Hungarian method on the problem with every point replicated to equal counts.
#[test]
fn plan_2d_is_exact() {
    let mut rng = Rng::new(9);
    let cloud =
        |n: usize, rng: &mut Rng| (0..n).map(|_| [rng.normal(), rng.normal()]).collect::<Vec<_>>();
    for n in [1, 3, 7, 12] {
        let (a, b) = (cloud(n, &mut rng), cloud(n, &mut rng));
        assert!((emd::plan_2d(&a, &b).unwrap().total - exact_w1(&a, &b)).abs() < 1e-9);
    }
    for (n, m) in [(2, 3), (4, 6), (5, 2), (1, 4)] {
        let (a, b) = (cloud(n, &mut rng), cloud(m, &mut rng));
        let plan = emd::plan_2d(&a, &b).unwrap();
        let ra: Vec<_> = a.iter().flat_map(|p| std::iter::repeat_n(*p, m)).collect();
        let rb: Vec<_> = b.iter().flat_map(|p| std::iter::repeat_n(*p, n)).collect();
        assert!((plan.total - exact_w1(&ra, &rb)).abs() < 1e-9, "{n}×{m}");
        let out: f64 = plan.flows.iter().map(|f| f.mass).sum();
        assert!((out - 1.0).abs() < 1e-12);
    }
    assert!(matches!(emd::parse_points("1,2 3", "P"), Err(EmdError::NotANumber { .. })));
    assert_eq!(emd::parse_points("", "Q"), Err(EmdError::Empty("Q")));
    assert_eq!(emd::parse_points("(0, 0) (1, 2)", "P").unwrap(), vec![[0.0, 0.0], [1.0, 2.0]]);
}

/// Seed 002/003: D* = ½ and V = −2 log 2 when the densities are equal; V = −log 4 + 2·JS in
/// general (two independent quadratures); disjoint densities give JS = log 2 and V = 0.
#[test]
fn optimal_discriminator() {
    let g = Gauss::new(0.3, 1.2);
    assert!((optimal_d::d_star(&g, &g, 0.7) - 0.5).abs() < 1e-15);
    assert!((optimal_d::value(&g, &g) - optimal_d::OPTIMUM).abs() < 1e-9);
    assert!((optimal_d::OPTIMUM + 1.386294).abs() < 1e-6);
    for (a, b) in [
        (Gauss::new(0.0, 1.0), Gauss::new(1.0, 1.0)),
        (Gauss::new(-1.0, 0.5), Gauss::new(2.0, 2.0)),
    ] {
        let (v, js) = (optimal_d::value(&a, &b), optimal_d::js(&a, &b));
        assert!((v - (-4f64.ln() + 2.0 * js)).abs() < 1e-8, "{v} {js}");
        assert!(v > optimal_d::OPTIMUM && v < 0.0);
    }
    let (a, b) = (Gauss::new(-20.0, 0.5), Gauss::new(20.0, 0.5));
    assert!((optimal_d::js(&a, &b) - LN_2).abs() < 1e-9);
    assert!(optimal_d::value(&a, &b).abs() < 1e-9);
}

/// Seed 001 §4.1: the forward fit matches moments and is a minimum of KL(p‖q); the reverse
/// fit sits on one mode, where KL(q‖p) = log 2 for two far-apart equal modes.
#[test]
fn forward_and_reverse_kl() {
    let p = Mixture { components: [Gauss::new(-3.0, 0.5), Gauss::new(3.0, 0.5)], weight: 0.5 };
    let fits = kl_fit::fit_both(&p).unwrap();
    assert!(fits.forward.mu.abs() < 1e-12);
    assert!((fits.forward.sigma - (9.25f64).sqrt()).abs() < 1e-12);
    for d in [(0.01, 1.0), (-0.01, 1.0), (0.0, 1.01), (0.0, 0.99)] {
        let q = Gauss::new(fits.forward.mu + d.0, fits.forward.sigma * d.1);
        assert!(kl_fit::kl_p_q(&p, &q) > fits.forward_kl);
    }
    assert!((fits.reverse.mu - 3.0).abs() < 1e-4, "{:?}", fits.reverse);
    assert!((fits.reverse.sigma - 0.5).abs() < 1e-4);
    assert!((fits.reverse_kl - LN_2).abs() < 1e-6);
    // Each fit loses badly on the other's objective.
    assert!(
        fits.reverse_fit_forward_kl > fits.forward_kl
            && fits.forward_fit_reverse_kl > fits.reverse_kl
    );
    // An unequal mixture: the reverse fit picks the heavier mode.
    let p = Mixture { weight: 0.2, ..p };
    let fits = kl_fit::fit_both(&p).unwrap();
    assert!((fits.reverse.mu + 3.0).abs() < 1e-3);
    assert!((fits.reverse_kl - -(0.8f64.ln())).abs() < 1e-6);
    assert!(kl_fit::fit_both(&Mixture { weight: 1.0, ..p }).is_err());
    assert!(
        kl_fit::fit_both(&Mixture {
            components: [Gauss::new(0.0, 0.0), Gauss::new(1.0, 1.0)],
            weight: 0.5
        })
        .is_err()
    );
}

/// Seed 003: simultaneous updates grow the radius by exactly √(1 + η²) per step; alternating
/// ones stay bounded.
#[test]
fn xy_game() {
    for eta in [0.01, 0.1, 0.5] {
        let t = xy::trajectory((1.0, 1.0), eta, 200, Update::Simultaneous).unwrap();
        for w in t.windows(2) {
            let growth = xy::radius(w[1]) / xy::radius(w[0]);
            assert!((growth - xy::growth_per_step(eta)).abs() < 1e-12);
        }
        assert!(
            (xy::radius(t[200]) - 2f64.sqrt() * (1.0 + eta * eta).powf(100.0)).abs()
                < 1e-9 * xy::radius(t[200])
        );
        let alt = xy::trajectory((1.0, 1.0), eta, 2000, Update::Alternating).unwrap();
        let r_max = alt.iter().map(|&p| xy::radius(p)).fold(0.0, f64::max);
        assert!(
            r_max < 2f64.sqrt() * 2.0 && alt.iter().all(|&p| xy::radius(p) > 0.5),
            "η {eta}: {r_max}"
        );
    }
    assert!((xy::growth_per_step(0.1) - 1.004987562).abs() < 1e-9);
    for bad in [0.0, -0.1, f64::NAN, f64::INFINITY, 100.0] {
        assert!(xy::trajectory((1.0, 1.0), bad, 10, Update::Simultaneous).is_err());
    }
    // Overflow stops the trajectory instead of filling it with infinities.
    let t = xy::trajectory((1.0, 1.0), 10.0, 100_000, Update::Simultaneous).unwrap();
    assert!(t.len() < 1000 && t.iter().all(|p| p.0.is_finite()));
}

/// The networks agree with the closed forms: a discriminator gives JS ≈ log 2 and ≈ no
/// gradient for θ ≠ 0; a WGAN-GP critic gives W ≈ |θ| and gradient ≈ sign(θ); at θ = 0
/// both estimates are ≈ 0.
#[test]
fn learned_estimates_agree_with_closed_forms() {
    let device = Device::flex();
    let config = EstimatorConfig::default();
    for theta in [0.5, -1.0, 0.0] {
        let (p0, pt) = (Line { x: 0.0 }, Line { x: theta });
        let (_, js) = fit(Divergence::Js, config.clone(), &p0, &pt, &device);
        let (_, w) = fit(Divergence::W, config.clone(), &p0, &pt, &device);
        let exact = closed_form(theta);
        eprintln!(
            "θ {theta}: JS {:.4} (grad {:.4}), W {:.4} (grad {:.4})",
            js.value, js.generator_grad[0], w.value, w.generator_grad[0]
        );
        assert!((js.value - exact.js).abs() < 0.02, "θ {theta}: JS estimate {}", js.value);
        assert!((w.value - exact.w).abs() < 0.05, "θ {theta}: W estimate {}", w.value);
        let (_, w_grad) = closed_gradient(theta);
        assert!(
            js.generator_grad[0].abs() < 0.02,
            "θ {theta}: JS gradient {}",
            js.generator_grad[0]
        );
        if theta != 0.0 {
            assert!(
                (w.generator_grad[0] - w_grad).abs() < 0.15,
                "θ {theta}: W gradient {}",
                w.generator_grad[0]
            );
        }
    }
}

/// WGAN Fig. 2: on two far-apart Gaussians the discriminator saturates (vanishing gradient
/// at the fake samples) while the clipped critic stays close to linear with a steady gradient.
#[test]
fn discriminator_saturates_critic_is_linear() {
    let device = Device::flex();
    let (real, fake) = (Normal1d(Gauss::new(0.0, 0.5)), Normal1d(Gauss::new(4.0, 0.5)));
    let (d, _) = fit(Divergence::Js, EstimatorConfig::default(), &real, &fake, &device);
    let (f, w) = fit(Divergence::W, EstimatorConfig::clipped(), &real, &fake, &device);
    assert!(w.value > 0.0, "the critic's estimate is positive: {}", w.value);
    let xs: Vec<f32> = (0..=40).map(|i| i as f32 * 0.1).collect();
    let read = |t: burn::tensor::Tensor<1>| {
        t.into_data().try_to_vec::<f32>().unwrap().into_iter().map(f64::from).collect::<Vec<_>>()
    };
    let dv = read(d.curve_tensor(&xs));
    let fv = read(f.curve_tensor(&xs));
    let n = xs.len();
    let relative = |g: &[f64], i: usize| g[i] / g.iter().copied().fold(0.0, f64::max);
    let (d_real, d_fake) = (dv[0], dv[n - 1]);
    let (d_grad, f_grad) = (relative(&dv[n..], n - 1), relative(&fv[n..], n - 1));
    eprintln!(
        "D(0) {d_real:.4}, D(4) {d_fake:.6}, relative |∇| at 4: D {d_grad:.2e}, f {f_grad:.3}"
    );
    assert!(d_real > 0.99 && d_fake < 0.01);
    assert!(d_grad < 1e-3, "minimax gradient at the fakes, relative to its peak: {d_grad}");
    assert!(f_grad > 0.1, "critic gradient at the fakes, relative to its peak: {f_grad}");
    assert!(fv[0] > fv[n - 1], "the critic is higher on the real data");
    let x64: Vec<f64> = xs.iter().map(|&x| x as f64).collect();
    let r2 = linear_r2(&x64, &fv[..n]);
    assert!(r2 > 0.95, "critic R² {r2}");
}
