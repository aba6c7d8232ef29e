//! The small dense linear algebra alignment needs, in float64 on `d × d` matrices (d = 50 for
//! the es-en vectors): products, the SVD (one-sided Jacobi), the orthogonal Procrustes
//! solution, and random rotations. Matrices are row-major `Vec<f64>` of `n × n`.

use crate::rng::Rng;

/// A square row-major matrix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Square {
    pub n: usize,
    pub data: Vec<f64>,
}

impl Square {
    pub fn identity(n: usize) -> Self {
        let mut data = vec![0.0; n * n];
        (0..n).for_each(|i| data[i * n + i] = 1.0);
        Square { n, data }
    }

    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.n + j]
    }

    pub fn transpose(&self) -> Self {
        let n = self.n;
        Square { n, data: (0..n * n).map(|k| self.at(k % n, k / n)).collect() }
    }

    pub fn matmul(&self, other: &Square) -> Self {
        let n = self.n;
        let mut data = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                let a = self.at(i, k);
                for j in 0..n {
                    data[i * n + j] += a * other.at(k, j);
                }
            }
        }
        Square { n, data }
    }

    /// ‖A − B‖_F.
    pub fn distance(&self, other: &Square) -> f64 {
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt()
    }

    /// ‖A·Aᵀ − I‖_F: zero exactly for an orthogonal matrix.
    pub fn orthogonality_error(&self) -> f64 {
        self.matmul(&self.transpose()).distance(&Square::identity(self.n))
    }

    /// A uniformly random rotation or reflection (Gram–Schmidt on a Gaussian matrix, which is
    /// Haar-distributed on O(n)).
    pub fn random_orthogonal(n: usize, rng: &mut Rng) -> Self {
        let rows: Vec<Vec<f64>> = (0..n).map(|_| (0..n).map(|_| rng.normal()).collect()).collect();
        Square { n, data: gram_schmidt(rows).concat() }
    }

    /// A uniformly random rotation: [`Square::random_orthogonal`] with its first row negated
    /// when it is a reflection (determinant −1), which a map started at the identity can
    /// never reach through orthogonal matrices.
    pub fn random_rotation(n: usize, rng: &mut Rng) -> Self {
        let mut q = Self::random_orthogonal(n, rng);
        if q.det() < 0.0 {
            q.data[..n].iter_mut().for_each(|v| *v = -*v);
        }
        q
    }

    /// The determinant (Gaussian elimination with partial pivoting). ±1 for an orthogonal
    /// matrix: +1 for a rotation, −1 for a reflection.
    pub fn det(&self) -> f64 {
        let n = self.n;
        let mut a = self.data.clone();
        let mut det = 1.0;
        for c in 0..n {
            let p = (c..n).max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()));
            let Some(p) = p.filter(|&p| a[p * n + c] != 0.0) else { return 0.0 };
            if p != c {
                (0..n).for_each(|k| a.swap(c * n + k, p * n + k));
                det = -det;
            }
            let pivot = a[c * n + c];
            det *= pivot;
            for r in c + 1..n {
                let f = a[r * n + c] / pivot;
                for k in c..n {
                    a[r * n + k] -= f * a[c * n + k];
                }
            }
        }
        det
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

/// Orthonormalises the rows in order (modified Gram–Schmidt, twice for stability). A row that
/// falls in the span of the earlier ones is replaced by a basis vector that does not.
fn gram_schmidt(mut rows: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = rows.first().map_or(0, Vec::len);
    for i in 0..rows.len() {
        for attempt in 0..=n {
            for _ in 0..2 {
                for j in 0..i {
                    let dot: f64 = rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum();
                    let prev = rows[j].clone();
                    rows[i].iter_mut().zip(&prev).for_each(|(a, b)| *a -= dot * b);
                }
            }
            let norm = rows[i].iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 1e-10 {
                rows[i].iter_mut().for_each(|a| *a /= norm);
                break;
            }
            // Degenerate: try the next standard basis vector.
            rows[i] = (0..n).map(|k| if k == attempt % n { 1.0 } else { 0.0 }).collect();
        }
    }
    rows
}

/// The thin SVD `A = U·diag(σ)·Vᵀ` of a square matrix by one-sided Jacobi rotations, which is
/// accurate to working precision for the small matrices here. Returns (U, σ, V); U's columns
/// for zero singular values are completed to an orthonormal basis.
pub fn svd(a: &Square) -> (Square, Vec<f64>, Square) {
    let n = a.n;
    // Work on columns: cols[j] is column j of A·V.
    let mut cols: Vec<Vec<f64>> = (0..n).map(|j| (0..n).map(|i| a.at(i, j)).collect()).collect();
    let mut v: Vec<Vec<f64>> =
        (0..n).map(|j| (0..n).map(|i| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha: f64 = cols[p].iter().map(|x| x * x).sum();
                let beta: f64 = cols[q].iter().map(|x| x * x).sum();
                let gamma: f64 = cols[p].iter().zip(&cols[q]).map(|(x, y)| x * y).sum();
                if gamma.abs() <= 1e-15 * (alpha * beta).sqrt() || gamma == 0.0 {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for m in [&mut cols, &mut v] {
                    let (lo, hi) = m.split_at_mut(q);
                    for (x, y) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
                        let (xp, yq) = (*x, *y);
                        *x = c * xp - s * yq;
                        *y = s * xp + c * yq;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let sigma: Vec<f64> =
        cols.iter().map(|c| c.iter().map(|x| x * x).sum::<f64>().sqrt()).collect();
    let scale = sigma.iter().cloned().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let u_cols: Vec<Vec<f64>> = cols
        .iter()
        .zip(&sigma)
        .map(|(c, &s)| c.iter().map(|x| if s > 1e-12 * scale { x / s } else { 0.0 }).collect())
        .collect();
    // The matrix with these columns.
    let as_matrix = |cols: Vec<Vec<f64>>| Square { n, data: cols.concat() }.transpose();
    (as_matrix(gram_schmidt(u_cols)), sigma, as_matrix(v))
}

/// The orthogonal W minimising `Σᵢ ‖W·xᵢ − yᵢ‖²` over pairs of rows of `x` and `y` (`[pairs,
/// dim]`, row-major): W = U·Vᵀ where `U·Σ·Vᵀ` is the SVD of `Σᵢ yᵢ·xᵢᵀ` (Schönemann 1966; MUSE's
/// refinement step).
pub fn procrustes(x: &[f32], y: &[f32], dim: usize) -> Square {
    let mut m = Square { n: dim, data: vec![0.0; dim * dim] };
    for (xr, yr) in x.chunks_exact(dim).zip(y.chunks_exact(dim)) {
        for i in 0..dim {
            let yi = yr[i] as f64;
            for j in 0..dim {
                m.data[i * dim + j] += yi * xr[j] as f64;
            }
        }
    }
    let (u, _, v) = svd(&m);
    u.matmul(&v.transpose())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, seed: u64) -> Square {
        let mut rng = Rng::new(seed);
        Square { n, data: (0..n * n).map(|_| rng.normal()).collect() }
    }

    #[test]
    fn svd_reconstructs_and_is_orthogonal() {
        for (n, seed) in [(1, 1), (3, 2), (50, 3)] {
            let a = random(n, seed);
            let (u, s, v) = svd(&a);
            let mut us = u.clone();
            us.data.iter_mut().enumerate().for_each(|(k, x)| *x *= s[k % n]);
            assert!(us.matmul(&v.transpose()).distance(&a) < 1e-10 * n as f64, "n {n}");
            assert!(u.orthogonality_error() < 1e-10 && v.orthogonality_error() < 1e-10, "n {n}");
        }
        // Rank-deficient: U is still orthogonal.
        let mut a = random(4, 5);
        (0..4).for_each(|j| a.data[4 + j] = 2.0 * a.data[j]);
        let (u, s, _) = svd(&a);
        assert!(u.orthogonality_error() < 1e-10);
        assert!(s.iter().cloned().fold(f64::INFINITY, f64::min) < 1e-12, "{s:?}");
    }

    #[test]
    fn determinants_tell_rotations_from_reflections() {
        let mut a = Square { n: 3, data: vec![2.0, 0.0, 1.0, 1.0, 3.0, 0.0, 0.0, 1.0, 4.0] };
        assert!((a.det() - 25.0).abs() < 1e-12, "{}", a.det()); // 2·12 − 0 + 1·1
        (0..3).for_each(|k| a.data.swap(k, k + 3));
        assert!((a.det() + 25.0).abs() < 1e-12);
        let mut rng = Rng::new(3);
        let dets: Vec<f64> =
            (0..20).map(|_| Square::random_orthogonal(7, &mut rng).det()).collect();
        assert!(dets.iter().all(|d| (d.abs() - 1.0).abs() < 1e-9));
        assert!(dets.iter().any(|&d| d < 0.0) && dets.iter().any(|&d| d > 0.0), "{dets:?}");
        for _ in 0..20 {
            let q = Square::random_rotation(7, &mut rng);
            assert!((q.det() - 1.0).abs() < 1e-9 && q.orthogonality_error() < 1e-12);
        }
    }

    /// Procrustes recovers a random orthogonal map exactly from its images.
    #[test]
    fn procrustes_recovers_a_random_orthogonal_map() {
        let (dim, pairs) = (50, 200);
        let mut rng = Rng::new(7);
        let w = Square::random_orthogonal(dim, &mut rng);
        assert!(w.orthogonality_error() < 1e-12);
        let x: Vec<f32> = rng.normals_f32(pairs * dim);
        let y: Vec<f32> = x
            .chunks_exact(dim)
            .flat_map(|r| {
                (0..dim)
                    .map(|i| (0..dim).map(|j| w.at(i, j) * r[j] as f64).sum::<f64>() as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let found = procrustes(&x, &y, dim);
        assert!(found.distance(&w) < 1e-5, "‖W − Ŵ‖ = {}", found.distance(&w));
    }
}
