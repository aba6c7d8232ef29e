//! A plain float64 MLP: the independent reference for the critics' input gradients and
//! gradient penalties.

use burn::tensor::Tensor;
use earthmover::gan::mlp::Mlp;

fn values(t: &Tensor<2>) -> Vec<f32> {
    t.clone().inner().into_data().try_to_vec::<f32>().unwrap()
}

/// Plain float64 MLP: weights `[in][out]` row-major, biases `[out]`.
pub struct Net64 {
    pub layers: Vec<(Vec<f64>, Vec<f64>, usize, usize)>,
    pub leaky: bool,
}

impl Net64 {
    pub fn act(&self, z: f64) -> (f64, f64) {
        let slope = if self.leaky { 0.2 } else { 0.0 };
        if z > 0.0 { (z, 1.0) } else { (slope * z, slope) }
    }

    /// ∇ₓ f(x) by the chain rule, one sample at a time.
    pub fn input_grad(&self, x: &[f64]) -> Vec<f64> {
        let mut h = x.to_vec();
        let mut slopes = vec![];
        let last = self.layers.len() - 1;
        for (w, b, fi, fo) in &self.layers[..last] {
            let z: Vec<f64> = (0..*fo)
                .map(|o| b[o] + (0..*fi).map(|i| h[i] * w[i * fo + o]).sum::<f64>())
                .collect();
            slopes.push(z.iter().map(|&v| self.act(v).1).collect::<Vec<_>>());
            h = z.iter().map(|&v| self.act(v).0).collect();
        }
        let (w, _, fi, fo) = &self.layers[last];
        assert_eq!(*fo, 1);
        let mut g: Vec<f64> = (0..*fi).map(|i| w[i]).collect();
        for ((w, _, fi, fo), s) in self.layers[..last].iter().zip(slopes).rev() {
            g = (0..*fi).map(|i| (0..*fo).map(|o| w[i * fo + o] * g[o] * s[o]).sum()).collect();
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
                z.iter().map(|&v| self.act(v).0).collect()
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
        self.layers.iter().map(|(w, b, _, _)| w.len() + b.len()).sum()
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
        panic!("parameter index out of range")
    }
}
