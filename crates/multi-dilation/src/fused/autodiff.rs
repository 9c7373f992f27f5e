//! [`MultiDilationBackend`] for `Autodiff<B>`: the forward of `B`, and a backward step that
//! calls `B`'s combined backward once for the input, kernel and bias gradients.

use burn::backend::AutodiffBackend;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::tensor::FloatTensor;

use super::{FusedGeometry, MultiDilationBackend};

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
                let rectified = geometry.relu.then(|| output.clone());
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
