//! The fused multi-dilation convolution on plain `f32` slices: the im2col matrix of each
//! (image, dilation) from the one input, built in L2-sized blocks that a GEMM with the shared
//! kernel consumes at once, and a backward pass that sums the weight gradient over every
//! dilation inside the same loop.
//!
//! Layouts are row-major and contiguous: input `[batch, in, h, w]`, kernel `[out, in, kh, kw]`,
//! output `[batch, dilations, out, ho, wo]`, which is the channel concatenation of the branches.
//!
//! Data flow:
//! - [`plan`]: a [`Plan`] holds the sizes and the 'same' padding of each dilation, and describes
//!   each im2col matrix as [`Taps`](plan::Taps) (which source element each entry reads).
//! - [`im2col`]: builds those matrices block by block (and scatters columns back, col2im).
//! - [`gemm`]: the single-threaded GEMM every product goes through (behind bounds checks).
//! - [`forward`](mod@forward): per (image, dilation), im2col blocks of the input times the
//!   kernel (bias as its last column), ReLU as each map is finished; or, for wide 3x3 layers
//!   at stride 1, [`winograd`]'s F(2x2, 3x3), or from AVX2 on tiles of the output held in
//!   registers over the whole sum, [`direct`], or at stride 1 one GEMM per tap on the padded
//!   image, [`shifted`] ([`strategy::ForwardStrategy`]).
//! - [`backward`](mod@backward): per image and dilation, the input gradient and partial kernel
//!   and bias gradients, by one of three strategies ([`strategy::BackwardStrategy`]).
//!
//! Instruction sets ([`isa`]): the loops outside gemm (Winograd's transforms, im2col and
//! col2im, ReLU) are compiled for baseline x86-64, AVX2 and AVX-512, and the copy this CPU
//! runs is chosen once at run time; the direct forward's loops are written for AVX2 and
//! AVX-512 with intrinsics.
//!
//! Threading ([`threads`]): work is split with rayon over contiguous groups of (image,
//! dilation) maps in forward and of images in backward; each GEMM runs single-threaded, unless
//! there are too few maps or images to keep every thread busy.

mod backward;
mod direct;
mod forward;
mod gemm;
mod im2col;
pub(crate) mod isa;
mod plan;
mod shifted;
mod strategy;
#[cfg(test)]
mod tests;
mod threads;
mod winograd;

pub(crate) use backward::backward;
pub(crate) use forward::forward;
pub(crate) use plan::Plan;
