//! Seeded random matrices and tokens, identical on every platform.
//!
//! Bits come from ChaCha12 seeded by `seed_from_u64` (a fixed, documented expansion); uniform
//! doubles take the top 53 bits; normals use Box–Muller with `libm`'s pure-Rust `log` and `cos`,
//! so no platform libm can change a drawn value. Draws run row by row.

use nalgebra::DMatrix;
use rand_chacha::ChaCha12Rng;
use rand_core::{RngCore, SeedableRng};

use crate::error::InputError;
use crate::system::decode::Field;
use crate::system::expr::Literal;

/// A distribution for matrix entries.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixLaw {
    pub seed: u64,
    pub kind: LawKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LawKind {
    /// Uniform on `[−half_width, half_width)`.
    Uniform { half_width: Literal },
    /// Normal with mean 0 and standard deviation `std`.
    Normal { std: Literal },
}

/// A post-processing that makes a drawn matrix `A` fit a hypothesis, as the paper does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Make {
    /// `A + Aᵀ`.
    Symmetric,
    /// `A − Aᵀ`.
    Skew,
    /// `A·Aᵀ + I` (eigenvalues ≥ 1).
    Spd,
}

#[derive(Debug, Clone)]
pub struct RandomMatrix {
    pub law: MatrixLaw,
    pub make: Option<Make>,
    pub values: DMatrix<f64>,
}

/// The law of random initial tokens (each then normalised onto `E_W`).
#[derive(Debug, Clone, PartialEq)]
pub enum TokenLaw {
    /// Entries uniform on `(−half_width, half_width)`: the paper's Section 7.4.
    UniformBox { half_width: Literal },
    /// Standard normal entries: after normalisation, uniform on the sphere when `W = I`.
    Sphere,
}

impl MatrixLaw {
    pub fn decode(f: &Field) -> Result<MatrixLaw, InputError> {
        let t = f.table(&["seed", "law", "half_width", "std"])?;
        let seed = t.require("seed")?.count()?;
        let law = match t.get("law") {
            Some(l) => l.one_of(&["uniform", "normal"])?,
            None => "uniform",
        };
        let kind = match law {
            "uniform" => {
                if let Some(s) = t.get("std") {
                    return Err(s.err("'std' belongs to law = \"normal\"; the uniform law takes 'half_width'"));
                }
                LawKind::Uniform { half_width: positive(&t.require("half_width")?)? }
            }
            _ => {
                if let Some(s) = t.get("half_width") {
                    return Err(s.err("'half_width' belongs to law = \"uniform\"; the normal law takes 'std'"));
                }
                LawKind::Normal { std: positive(&t.require("std")?)? }
            }
        };
        Ok(MatrixLaw { seed, kind })
    }
}

impl Make {
    pub fn decode(f: &Field) -> Result<Make, InputError> {
        Ok(match f.one_of(&["symmetric", "skew", "spd"])? {
            "symmetric" => Make::Symmetric,
            "skew" => Make::Skew,
            _ => Make::Spd,
        })
    }
}

impl TokenLaw {
    pub fn decode(f: &Field) -> Result<(u64, TokenLaw), InputError> {
        let t = f.table(&["seed", "law", "half_width"])?;
        let seed = t.require("seed")?.count()?;
        let law = match t.get("law") {
            Some(l) => l.one_of(&["uniform-box", "sphere"])?,
            None => "uniform-box",
        };
        let law = if law == "sphere" {
            if let Some(h) = t.get("half_width") {
                return Err(h.err("'half_width' belongs to law = \"uniform-box\""));
            }
            TokenLaw::Sphere
        } else {
            TokenLaw::UniformBox { half_width: positive(&t.require("half_width")?)? }
        };
        Ok((seed, law))
    }
}

fn positive(f: &Field) -> Result<Literal, InputError> {
    let l = f.number()?;
    if l.value > 0.0 {
        Ok(l)
    } else {
        Err(f.err(format!("must be positive, found '{}'{}", l.text, crate::system::matrix::underflow_note(&l))))
    }
}

/// A stream of uniform and normal doubles from one seed.
pub struct Stream(ChaCha12Rng);

impl Stream {
    pub fn new(seed: u64) -> Self {
        Stream(ChaCha12Rng::seed_from_u64(seed))
    }

    /// Uniform on `[0, 1)`, a multiple of `2⁻⁵³`.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on `[−h, h)`.
    pub fn symmetric(&mut self, h: f64) -> f64 {
        h * (2.0 * self.unit() - 1.0)
    }

    /// Standard normal by Box–Muller (one of the pair; simple and reproducible beats fast here).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // in (0, 1]: log is finite
        let u2 = self.unit();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }
}

/// Mixes a file's seed with a bulk-run stream number (SplitMix64 finaliser), so every run of
/// `--runs N --seed S` draws independent matrices while run `None` keeps the file's own seed.
pub fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RandomMatrix {
    pub fn draw(law: MatrixLaw, make: Option<Make>, d: usize) -> RandomMatrix {
        let mut s = Stream::new(law.seed);
        let mut a = DMatrix::zeros(d, d);
        for i in 0..d {
            for j in 0..d {
                a[(i, j)] = match &law.kind {
                    LawKind::Uniform { half_width } => s.symmetric(half_width.value),
                    LawKind::Normal { std } => std.value * s.normal(),
                };
            }
        }
        let values = match make {
            None => a,
            Some(Make::Symmetric) => &a + a.transpose(),
            Some(Make::Skew) => &a - a.transpose(),
            Some(Make::Spd) => {
                // A GEMM may sum (i,j) and (j,i) in different orders: mirror the lower
                // triangle so the result is symmetric bit for bit.
                let mut m = &a * a.transpose() + DMatrix::identity(d, d);
                for i in 0..d {
                    for j in 0..i {
                        m[(j, i)] = m[(i, j)];
                    }
                }
                m
            }
        };
        RandomMatrix { law, make, values }
    }

    pub fn redraw(&self, stream: u64) -> RandomMatrix {
        let law = MatrixLaw { seed: mix(self.law.seed, stream), kind: self.law.kind.clone() };
        RandomMatrix::draw(law, self.make, self.values.nrows())
    }
}

/// Draws `l` raw tokens (columns of a `d×l` matrix), not yet normalised.
pub fn draw_tokens(seed: u64, law: &TokenLaw, d: usize, l: usize) -> DMatrix<f64> {
    let mut s = Stream::new(seed);
    let mut y = DMatrix::zeros(d, l);
    for j in 0..l {
        for i in 0..d {
            y[(i, j)] = match law {
                TokenLaw::UniformBox { half_width } => s.symmetric(half_width.value),
                TokenLaw::Sphere => s.normal(),
            };
        }
    }
    y
}
