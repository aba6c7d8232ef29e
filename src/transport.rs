//! Exact optimal transport between two equal-size point clouds.
//!
//! With N points on each side and uniform weights 1/N, the optimal plan of the
//! Kantorovich problem is a permutation (Birkhoff–von Neumann), so the exact
//! Wasserstein-1 distance is the mean cost of an optimal assignment. The assignment
//! is solved by the Hungarian method with potentials (shortest augmenting paths), O(N³).

/// An optimal assignment: `target[i]` is the point of the second set matched to point `i`
/// of the first, and `cost` is the mean matched distance.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub target: Vec<usize>,
    pub cost: f64,
}

/// Minimum-cost perfect matching for a square cost matrix given as a closure.
pub fn assignment(n: usize, cost: impl Fn(usize, usize) -> f64) -> Assignment {
    if n == 0 {
        return Assignment { target: vec![], cost: 0.0 };
    }
    // 1-indexed arrays; p[j] is the row matched to column j, u and v the dual potentials.
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    let mut minv = vec![inf; n + 1];
    let mut used = vec![false; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        minv.fill(inf);
        used.fill(false);
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        // Augment along the path found (j0 is a free column, never 0 here).
        while j0 != 0 {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        }
    }
    let mut target = vec![0; n];
    for j in 1..=n {
        target[p[j] - 1] = j - 1;
    }
    let total: f64 = target.iter().enumerate().map(|(i, &j)| cost(i, j)).sum();
    Assignment { target, cost: total / n as f64 }
}

/// Exact W1 (Euclidean ground cost) between two empirical distributions of the same size.
/// Sizes that differ are cut to the smaller one.
pub fn exact_w1(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let n = a.len().min(b.len());
    let dist: Vec<f64> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            (a[i][0] - b[j][0]).hypot(a[i][1] - b[j][1])
        })
        .collect();
    assignment(n, |i, j| dist[i * n + j]).cost
}

/// Pairs of `[x, y]` from a flat row-major buffer.
pub fn pairs(flat: &[f32]) -> Vec<[f64; 2]> {
    flat.chunks_exact(2).map(|c| [c[0] as f64, c[1] as f64]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn brute_force(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
        fn permute(
            k: usize,
            perm: &mut Vec<usize>,
            best: &mut f64,
            a: &[[f64; 2]],
            b: &[[f64; 2]],
        ) {
            if k == perm.len() {
                let c: f64 = perm
                    .iter()
                    .enumerate()
                    .map(|(i, &j)| (a[i][0] - b[j][0]).hypot(a[i][1] - b[j][1]))
                    .sum();
                *best = best.min(c / a.len() as f64);
                return;
            }
            for i in k..perm.len() {
                perm.swap(k, i);
                permute(k + 1, perm, best, a, b);
                perm.swap(k, i);
            }
        }
        let mut best = f64::INFINITY;
        permute(0, &mut (0..a.len()).collect(), &mut best, a, b);
        best
    }

    #[test]
    fn matches_brute_force_on_random_sets() {
        let mut rng = Rng::new(11);
        for n in 1..=7 {
            for _ in 0..20 {
                let a: Vec<[f64; 2]> = (0..n).map(|_| [rng.normal(), rng.normal()]).collect();
                let b: Vec<[f64; 2]> = (0..n).map(|_| [rng.normal(), rng.normal()]).collect();
                let (fast, slow) = (exact_w1(&a, &b), brute_force(&a, &b));
                assert!((fast - slow).abs() < 1e-12, "n={n}: {fast} vs {slow}");
            }
        }
    }

    #[test]
    fn translation_moves_every_point_by_its_length() {
        // Shifting a set by a vector t: W1 = |t| (the identity plan is optimal, by Jensen).
        let mut rng = Rng::new(5);
        let a: Vec<[f64; 2]> = (0..200).map(|_| [rng.normal(), rng.normal()]).collect();
        let b: Vec<[f64; 2]> = a.iter().map(|p| [p[0] + 0.3, p[1] - 0.4]).collect();
        assert!((exact_w1(&a, &b) - 0.5).abs() < 1e-9);
        assert_eq!(exact_w1(&a, &a), 0.0);
    }

    #[test]
    fn assignment_is_a_permutation() {
        let mut rng = Rng::new(2);
        let a: Vec<[f64; 2]> = (0..64).map(|_| [rng.normal(), rng.normal()]).collect();
        let b: Vec<[f64; 2]> = (0..64).map(|_| [rng.normal(), rng.normal()]).collect();
        let asg = assignment(64, |i, j| (a[i][0] - b[j][0]).hypot(a[i][1] - b[j][1]));
        let mut t = asg.target.clone();
        t.sort();
        assert_eq!(t, (0..64).collect::<Vec<_>>());
    }
}
