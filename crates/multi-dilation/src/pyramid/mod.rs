//! [`AtrousPyramid`]: KSAC's kernel-sharing atrous pyramid and its independent-kernel twin,
//! DeepLabv3's ASPP, as one block (see [`AtrousPyramid`] for what each paper does).

mod block;
mod config;

pub use block::{AtrousNorm, AtrousPyramid, ConvBnRelu};
pub use config::AtrousPyramidConfig;
