//! [`MultiDilationBackend`] for `Autodiff<B>`: the glue between burn's autodiff graph and the
//! hand-written backward of the inner backend `B`.
//!
//! Step by step, for one call of the fused forward on tracked tensors:
//! 1. Forward: `B` computes the output from the inner (untracked) primitives of `x`, `weight`
//!    and `bias`.
//! 2. Registration: [`FusedBackward`] is prepared with the three parents' graph nodes. If no
//!    parent requires a gradient the output is returned untracked and nothing is saved.
//! 3. Saved state: `x` and `weight` are checkpointed (burn's checkpointer keeps them, or
//!    recomputes them under a recompute strategy), with the geometry and, for
//!    [`Epilogue::Relu`], the rectified output, which is all the ReLU's backward needs.
//! 4. Backward: the gradient of the output is consumed from the graph, masked by the ReLU where
//!    there is one, and `B`'s combined backward computes only the gradients whose parents are
//!    tracked (`want`), in one pass on Flex.
//! 5. The gradients are registered on the parents' nodes; burn sums them with any other use of
//!    the same tensors (a kernel shared with another layer, for example).
//!
//! The bias is always a parent: a layer without bias passes an untracked zero bias, which step 2
//! leaves without a gradient.

use burn::backend::AutodiffBackend;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::tensor::FloatTensor;

use super::{FusedGeometry, MultiDilationBackend};
use crate::epilogue::Epilogue;

/// The backward step: parents are x, weight and bias.
#[derive(Debug)]
struct FusedBackward;

impl<B: MultiDilationBackend> Backward<B, 3> for FusedBackward {
    /// x, weight, the geometry, and with a ReLU epilogue the output (to mask the gradient).
    type State = (NodeId, NodeId, FusedGeometry, Option<FloatTensor<B>>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, geometry, rectified) = ops.state;
        let grad = match rectified {
            Some(output) => B::relu_backward(output, grad),
            None => grad,
        };
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
        let parents = ops.parents;
        let want = [
            parents[0].is_some(),
            parents[1].is_some(),
            parents[2].is_some(),
        ];
        let (grad_x, grad_weight, grad_bias) =
            B::multi_dilation_conv2d_backward(x, weight, grad, geometry, want);
        for (parent, grad) in parents.iter().zip([grad_x, grad_weight, grad_bias]) {
            if let (Some(node), Some(grad)) = (parent, grad) {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: MultiDilationBackend, C: CheckpointStrategy> MultiDilationBackend for Autodiff<B, C> {
    fn multi_dilation_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self> {
        let output = B::multi_dilation_conv2d(
            x.primitive().clone(),
            weight.primitive().clone(),
            bias.primitive().clone(),
            geometry.clone(),
        );
        match FusedBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let rectified = (geometry.epilogue == Epilogue::Relu).then(|| output.clone());
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    geometry,
                    rectified,
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }

    // Gradients of gradients are not tracked: the backward operations return constants,
    // computed by `B`.

    fn multi_dilation_conv2d_input_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::multi_dilation_conv2d_input_grad(
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
            geometry,
        ))
    }

    fn multi_dilation_conv2d_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::multi_dilation_conv2d_weight_grad(
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
            geometry,
        ))
    }

    fn multi_dilation_conv2d_bias_grad(
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
    ) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::multi_dilation_conv2d_bias_grad(
            grad.into_primitive(),
            geometry,
        ))
    }

    fn multi_dilation_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: FusedGeometry,
        want: [bool; 3],
    ) -> (
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
    ) {
        let (gx, gw, gb) = B::multi_dilation_conv2d_backward(
            x.into_primitive(),
            weight.into_primitive(),
            grad.into_primitive(),
            geometry,
            want,
        );
        let wrap = |t: Option<FloatTensor<B>>| t.map(<Self as AutodiffBackend>::from_inner);
        (wrap(gx), wrap(gw), wrap(gb))
    }
}
