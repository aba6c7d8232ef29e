//! A plain float64 MLP: the independent reference for the critics' input gradients and
//! gradient penalties.

use burn::tensor::Tensor;
use earthmover::gan::mlp::Mlp;

fn values(t: &Tensor<2>) -> Vec<f32> {
    t.clone().inner().into_data().try_to_vec::<f32>().unwrap()
}

/// Plain float64 MLP: weights `[in][out]` row-major, biases `[out]`; with layer normalisation,
/// `(γ, β)` for each hidden layer.
pub struct Net64 {
    pub layers: Vec<(Vec<f64>, Vec<f64>, usize, usize)>,
    pub norms: Vec<(Vec<f64>, Vec<f64>)>,
    pub leaky: bool,
}

/// ε of the layer normalisation (PyTorch's).
const LN_EPS: f64 = 1e-5;

/// Layer `k`'s pre-activation from its affine output `z`: `γ⊙(z − μ)/√(σ² + ε) + β` when the
/// net normalises, else `z`. Also returns `x̂` and `1/√(σ² + ε)` for the backward pass.
fn normalise(norms: &[(Vec<f64>, Vec<f64>)], k: usize, z: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let Some((gamma, beta)) = norms.get(k) else { return (z.to_vec(), z.to_vec(), 1.0) };
    let n = z.len() as f64;
    let mean = z.iter().sum::<f64>() / n;
    let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let s = 1.0 / (var + LN_EPS).sqrt();
    let xhat: Vec<f64> = z.iter().map(|v| (v - mean) * s).collect();
    let y = xhat.iter().zip(gamma).zip(beta).map(|((x, g), b)| g * x + b).collect();
    (y, xhat, s)
}

impl Net64 {
    pub fn act(&self, z: f64) -> (f64, f64) {
        let slope = if self.leaky { 0.2 } else { 0.0 };
        if z > 0.0 { (z, 1.0) } else { (slope * z, slope) }
    }

    /// ∇ₓ f(x) by the chain rule, one sample at a time.
    pub fn input_grad(&self, x: &[f64]) -> Vec<f64> {
        let mut h = x.to_vec();
        let mut saved = vec![];
        let last = self.layers.len() - 1;
        for (k, (w, b, fi, fo)) in self.layers[..last].iter().enumerate() {
            let z: Vec<f64> = (0..*fo)
                .map(|o| b[o] + (0..*fi).map(|i| h[i] * w[i * fo + o]).sum::<f64>())
                .collect();
            let (y, xhat, s) = normalise(&self.norms, k, &z);
            saved.push((y.iter().map(|&v| self.act(v).1).collect::<Vec<_>>(), xhat, s));
            h = y.iter().map(|&v| self.act(v).0).collect();
        }
        let (w, _, fi, fo) = &self.layers[last];
        assert_eq!(*fo, 1);
        let mut g: Vec<f64> = (0..*fi).map(|i| w[i]).collect();
        for (k, ((w, _, fi, fo), (slope, xhat, s))) in
            self.layers[..last].iter().zip(saved).enumerate().rev()
        {
            // ∂f/∂y, then back through the normalisation to ∂f/∂z.
            let mut dz: Vec<f64> = g.iter().zip(&slope).map(|(g, s)| g * s).collect();
            if let Some((gamma, _)) = self.norms.get(k) {
                let u: Vec<f64> = dz.iter().zip(gamma).map(|(d, g)| d * g).collect();
                let n = u.len() as f64;
                let mean_u = u.iter().sum::<f64>() / n;
                let mean_ux = u.iter().zip(&xhat).map(|(u, x)| u * x).sum::<f64>() / n;
                dz = u.iter().zip(&xhat).map(|(u, x)| s * (u - mean_u - x * mean_ux)).collect();
            }
            g = (0..*fi).map(|i| (0..*fo).map(|o| w[i * fo + o] * dz[o]).sum()).collect();
        }
        g
    }

    pub fn forward(&self, x: &[f64]) -> f64 {
        let mut h = x.to_vec();
        for (k, (w, b, fi, fo)) in self.layers.iter().enumerate() {
            let z: Vec<f64> = (0..*fo)
                .map(|o| b[o] + (0..*fi).map(|i| h[i] * w[i * fo + o]).sum::<f64>())
                .collect();
            h = if k + 1 < self.layers.len() {
                normalise(&self.norms, k, &z).0.iter().map(|&v| self.act(v).0).collect()
            } else {
                z
            };
        }
        h[0]
    }

    pub fn from_mlp(mlp: &Mlp, leaky: bool) -> Self {
        Net64 {
            layers: mlp
                .net
                .iter()
                .map(|l| {
                    let [fi, fo] = l.weight.dims();
                    let bias =
                        l.bias.as_ref().expect("every layer has a bias").val().unsqueeze::<2>();
                    (
                        values(&l.weight.val()).into_iter().map(f64::from).collect(),
                        values(&bias).into_iter().map(f64::from).collect(),
                        fi,
                        fo,
                    )
                })
                .collect(),
            norms: mlp
                .norms
                .iter()
                .map(|n| {
                    let beta = n.beta.as_ref().expect("every layer norm has a bias");
                    let v = |t: Tensor<1>| -> Vec<f64> {
                        values(&t.unsqueeze::<2>()).into_iter().map(f64::from).collect()
                    };
                    (v(n.gamma.val()), v(beta.val()))
                })
                .collect(),
            leaky,
        }
    }

    pub fn penalty(&self, xs: &[Vec<f64>]) -> f64 {
        xs.iter()
            .map(|x| (self.input_grad(x).iter().map(|v| v * v).sum::<f64>().sqrt() - 1.0).powi(2))
            .sum::<f64>()
            / xs.len() as f64
    }

    pub fn num_params(&self) -> usize {
        self.layers.iter().map(|(w, b, _, _)| w.len() + b.len()).sum::<usize>()
            + self.norms.iter().map(|(g, b)| g.len() + b.len()).sum::<usize>()
    }

    pub fn param_mut(&mut self, mut k: usize) -> &mut f64 {
        for (w, b, _, _) in &mut self.layers {
            if k < w.len() {
                return &mut w[k];
            }
            k -= w.len();
            if k < b.len() {
                return &mut b[k];
            }
            k -= b.len();
        }
        // Then the layer norms, in burn's order (the `norms` field follows `net`).
        for (g, b) in &mut self.norms {
            if k < g.len() {
                return &mut g[k];
            }
            k -= g.len();
            if k < b.len() {
                return &mut b[k];
            }
            k -= b.len();
        }
        panic!("parameter index out of range")
    }
}
