//! What every model here is built from: burn's `Linear` and `Embedding`, an `Lstm` module,
//! and the PyTorch layout that records are stored in.
//!
//! Models are `#[derive(Module)]` structs, so a weight's name is its field path
//! (`encoder.forward.weight_ih`) and nothing is matched by position. Weights live as
//! `[in, out]` (burn's `Linear`); a record stores every rank-2 weight transposed to PyTorch's
//! `[out, in]`, except an embedding table, which both libraries keep as `[vocab, dim]`. Biases
//! are 1-D in both. [`TorchLayout`] is the burn-store adapter that does this both ways.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ApplyResult, ModuleAdapter, ModuleContext, ModuleSnapshot, bridge};
use burn::tensor::{DType, Device, Shape, Tensor, TensorData};

/// One LSTM layer, PyTorch's names and gate order (i, f, g, o):
/// `gates = x·W_ih + h·W_hh + b`.
#[derive(Module, Debug)]
pub struct Lstm {
    /// `[in, 4H]`
    pub weight_ih: Param<Tensor<2>>,
    /// `[H, 4H]`
    pub weight_hh: Param<Tensor<2>>,
    /// `[4H]` (PyTorch keeps `bias_ih` and `bias_hh`; their sum is this one).
    pub bias: Param<Tensor<1>>,
}

impl Lstm {
    /// The layer over a whole sequence `x` `[B, T, in]` with `mask` `[B, T]` (1 on tokens),
    /// forwards or `reverse`d, as one fused op ([`crate::ops::lstm_seq`]): the outputs
    /// `[B, T, H]` (zeros where masked, the state kept there) and the last `h` and `c` `[B, H]`.
    pub fn forward(
        &self,
        x: Tensor<3>,
        mask: Tensor<2>,
        reverse: bool,
    ) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
        crate::ops::lstm_seq(
            x,
            self.weight_ih.val(),
            self.weight_hh.val(),
            self.bias.val().unsqueeze(),
            mask,
            reverse,
        )
    }

    /// One step from `x` `[B, in]` and the state `h`, `c` `[B, H]`: the new `[c; h]` `[B, 2H]`
    /// (the fused cell's layout, [`crate::ops::lstm_cell`]).
    pub fn step(&self, x: Tensor<2>, h: Tensor<2>, c: Tensor<2>) -> Tensor<2> {
        let bias = self.bias.val().unsqueeze();
        let gates = x.matmul(self.weight_ih.val()) + bias + h.matmul(self.weight_hh.val());
        crate::ops::lstm_cell(gates, c)
    }
}

/// A trainable parameter from row-major values.
pub fn param<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// A `Linear` from an `[input, output]` weight and an optional bias.
pub fn linear(
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    [input, output]: [usize; 2],
    device: &Device,
) -> Linear {
    Linear {
        weight: param(weight, [input, output], device),
        bias: bias.map(|b| param(b, [output], device)),
    }
}

/// Transposes every rank-2 float tensor except an `Embedding`'s table: our `[in, out]` to
/// PyTorch's `[out, in]` on save, and back on load (the same map both ways).
#[derive(Clone, Debug, Default)]
pub struct TorchLayout;

fn transpose_data(data: TensorData) -> TensorData {
    let (rows, cols) = (data.shape()[0], data.shape()[1]);
    let size = data.dtype().size();
    let bytes = data.as_bytes();
    let mut out = vec![0u8; bytes.len()];
    for r in 0..rows {
        for c in 0..cols {
            let (from, to) = ((r * cols + c) * size, (c * rows + r) * size);
            out[to..to + size].copy_from_slice(&bytes[from..from + size]);
        }
    }
    TensorData::from_bytes_vec(out, vec![cols, rows], data.dtype())
}

impl ModuleAdapter for TorchLayout {
    fn adapt(&self, tensor: PackTensor, ctx: ModuleContext<'_>) -> PackTensor {
        let float = matches!(tensor.dtype, DType::F32 | DType::F64 | DType::F16 | DType::BF16);
        if tensor.shape.num_dims() != 2 || !float || ctx.module_type() == Some("Struct:Embedding") {
            return tensor;
        }
        let (name, dtype) = (tensor.name.clone(), tensor.dtype);
        let shape = Shape::from(vec![tensor.shape[1], tensor.shape[0]]);
        bridge::map_data(tensor, name, dtype, shape, transpose_data)
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// One stored tensor: its name, PyTorch-layout shape and float32 values.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every parameter of `module` in PyTorch's layout, named by its path under `prefix`
/// (`prefix.` + path; no prefix when empty), as float32.
pub fn to_torch<M: Module>(module: &M, prefix: &str) -> Result<Vec<Stored>, ReadError> {
    module
        .collect(None, Some(Box::new(TorchLayout)), false)
        .into_iter()
        .map(|t| {
            let name =
                if prefix.is_empty() { t.name.clone() } else { format!("{prefix}.{}", t.name) };
            let data = bridge::into_data(t).map_err(|e| ReadError(format!("{name}: {e:?}")))?;
            let shape = data.shape().to_vec();
            let values = data
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| ReadError(format!("{name}: {e:?}")))?;
            Ok(Stored { name, shape, values })
        })
        .collect()
}

/// The parameter-wise mean of `models`, which must share one architecture, summed in float64:
/// Polyak–Ruppert averaging of a run's checkpoints, which smooths out a GAN generator's
/// oscillation around the critic's moving target. The result keeps the first model's devices
/// and parameter ids.
pub fn average<M: Module>(models: &[M]) -> Result<M, AverageError> {
    let (first, rest) = models.split_first().ok_or(AverageError::Empty)?;
    let mut sums: Vec<(Vec<f64>, Stored)> = to_torch(first, "")?
        .into_iter()
        .map(|s| (s.values.iter().map(|&v| f64::from(v)).collect(), s))
        .collect();
    for (i, m) in rest.iter().enumerate() {
        let stored = to_torch(m, "")?;
        if stored.len() != sums.len() {
            return Err(AverageError::Count {
                model: i + 2,
                found: stored.len(),
                first: sums.len(),
            });
        }
        for (s, (sum, first)) in stored.iter().zip(&mut sums) {
            if s.name != first.name || s.shape != first.shape {
                let shape = |s: &Stored| format!("{} {:?}", s.name, s.shape);
                let (found, expected) = (shape(s), shape(first));
                return Err(AverageError::Parameter { model: i + 2, found, expected });
            }
            sum.iter_mut().zip(&s.values).for_each(|(a, &v)| *a += f64::from(v));
        }
    }
    let n = models.len() as f64;
    let mean = sums
        .into_iter()
        .map(|(sum, s)| Stored { values: sum.iter().map(|v| (v / n) as f32).collect(), ..s })
        .collect();
    Ok(from_torch(first.clone(), mean)?)
}

/// Why models could not be averaged.
#[derive(Debug, thiserror::Error)]
pub enum AverageError {
    #[error("nothing to average")]
    Empty,
    #[error("model {model} has {found} parameters, the first has {first}")]
    Count { model: usize, found: usize, first: usize },
    #[error("model {model} has {found} where the first has {expected}")]
    Parameter { model: usize, found: String, expected: String },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Each parameter's name and PyTorch-layout shape, as [`to_torch`] would store them.
pub fn torch_shapes<M: Module>(module: &M) -> Vec<(String, Vec<usize>)> {
    module
        .collect(None, Some(Box::new(TorchLayout)), false)
        .into_iter()
        .map(|t| (t.name.clone(), t.shape.to_vec()))
        .collect()
}

/// Why stored tensors could not be put into a module.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    #[error("the file has no '{0}' entry")]
    Missing(String),
    #[error("{0}")]
    Rejected(String),
}

/// Loads PyTorch-layout tensors (names relative to the module) into `module` by name. Every
/// parameter must be present with its exact shape; a tensor the module does not have is
/// ignored (the caller passes only the module's own entries).
pub fn from_torch<M: Module>(mut module: M, tensors: Vec<Stored>) -> Result<M, ApplyError> {
    // Host data; the applier puts each tensor on its parameter's device.
    let packs = tensors
        .into_iter()
        .map(|s| bridge::from_data(TensorData::new(s.values, s.shape), s.name, None))
        .collect();
    let result: ApplyResult = module.apply(packs, None, Some(Box::new(TorchLayout)), false);
    if let Some(e) = result.errors.first() {
        return Err(ApplyError::Rejected(e.to_string()));
    }
    if let Some((path, _)) = result.missing.first() {
        return Err(ApplyError::Missing(path.clone()));
    }
    Ok(module)
}

/// A map applied to every float parameter, whatever its rank, told the parameter's path and id.
pub trait FloatMap {
    fn apply<const D: usize>(&mut self, path: &str, id: ParamId, tensor: Tensor<D>) -> Tensor<D>;
}

/// Walks a module keeping the path of the parameter at hand: [`map_floats`], [`visit_floats`].
struct Walk<'a, F> {
    path: Vec<String>,
    f: &'a mut F,
}

impl<F: FloatMap> ModuleMapper for Walk<'_, F> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = self.f.apply(&self.path.join("."), id, tensor);
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// `module` with `f` applied to every float parameter (keeping ids and training state).
pub fn map_floats<M: Module, F: FloatMap>(module: M, f: &mut F) -> M {
    module.map(&mut Walk { path: vec![], f })
}

/// Visits every float parameter with its path.
pub trait FloatVisit {
    fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>);
}

impl<F: FloatVisit> ModuleVisitor for Walk<'_, F> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.f.visit(&self.path.join("."), param);
    }
}

pub fn visit_floats<M: Module, F: FloatVisit>(module: &M, f: &mut F) {
    module.visit(&mut Walk { path: vec![], f });
}

/// Every float parameter flattened to 1-D, in visiting order, with its path. For sums over
/// all parameters (penalties, norms) and for comparing two models entry by entry.
pub fn flat_params<M: Module>(module: &M) -> Vec<(String, Tensor<1>)> {
    struct Flat(Vec<(String, Tensor<1>)>);
    impl FloatVisit for Flat {
        fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>) {
            self.0.push((path.to_string(), param.val().flatten(0, -1)));
        }
    }
    let mut f = Flat(vec![]);
    visit_floats(module, &mut f);
    f.0
}

/// Every parameter's shape (burn's layout) by path.
pub fn param_shapes<M: Module>(module: &M) -> Vec<(String, Vec<usize>)> {
    struct Shapes(Vec<(String, Vec<usize>)>);
    impl FloatVisit for Shapes {
        fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>) {
            self.0.push((path.to_string(), param.shape().to_vec()));
        }
    }
    let mut s = Shapes(vec![]);
    visit_floats(module, &mut s);
    s.0
}

/// Every parameter's values by path (float32 and float64 parameters both exactly): for tests
/// and checks.
pub fn param_values<M: Module>(module: &M) -> Vec<(String, Vec<f64>)> {
    flat_params(module).into_iter().map(|(name, t)| (name, host(t))).collect()
}

fn host(t: Tensor<1>) -> Vec<f64> {
    t.inner().into_data().convert::<f64>().try_into_vec::<f64>().unwrap_or_default()
}

/// Each parameter's gradient in `grads` by path (`None` where the loss does not reach it).
pub fn grad_values<M: Module>(
    module: &M,
    grads: &GradientsParams,
) -> Vec<(String, Option<Vec<f64>>)> {
    struct Grads<'a>(&'a GradientsParams, Vec<(String, Option<Vec<f64>>)>);
    impl FloatVisit for Grads<'_> {
        fn visit<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>) {
            let g = self.0.get::<D>(param.id).map(|g| host(g.flatten(0, -1)));
            self.1.push((path.to_string(), g));
        }
    }
    let mut v = Grads(grads, vec![]);
    visit_floats(module, &mut v);
    v.1
}

/// Clamps every parameter to `[-c, c]` (WGAN's weight clipping).
pub struct Clamp(pub f64);

impl FloatMap for Clamp {
    fn apply<const D: usize>(&mut self, _path: &str, _id: ParamId, tensor: Tensor<D>) -> Tensor<D> {
        tensor.clamp(-self.0, self.0)
    }
}

/// Multiplies every parameter by a constant.
pub struct Scale(pub f64);

impl FloatMap for Scale {
    fn apply<const D: usize>(&mut self, _path: &str, _id: ParamId, tensor: Tensor<D>) -> Tensor<D> {
        tensor.mul_scalar(self.0)
    }
}

/// A read of values back from the device that failed. Training loops report it as itself, never
/// as a diverged loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("could not read the step's values back from the device: {0}")]
pub struct ReadError(pub String);

/// What stops a step (training, a free run, decoding) once it has started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error("could not read the {what} back from the device: {detail}")]
    Read { what: &'static str, detail: String },
    #[error("the {what} came back as {found} values, not {expected}")]
    Count { what: &'static str, found: usize, expected: usize },
    #[error("the {what} are NaN or infinite: the weights diverged")]
    NotFinite { what: &'static str },
    /// The input cannot be used (an empty article, a missing language model).
    #[error("{0}")]
    Input(&'static str),
}

/// Reads `n` scalars (any float dtype) from the device in one transfer.
pub async fn read_floats(t: Tensor<1>, n: usize) -> Result<Vec<f64>, ReadError> {
    let data = t.into_data_async().await.map_err(|e| ReadError(format!("{e:?}")))?;
    let v = data.convert::<f32>().try_into_vec::<f32>().map_err(|e| ReadError(format!("{e:?}")))?;
    if v.len() != n {
        return Err(ReadError(format!("expected {n} values, got {}", v.len())));
    }
    Ok(v.into_iter().map(f64::from).collect())
}
