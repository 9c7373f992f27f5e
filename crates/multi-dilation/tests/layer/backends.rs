//! The same layer gives the same outputs and gradients on every compiled backend
//! (flex and ndarray always; wgpu with `--features wgpu`).

use burn::tensor::{Device, Tensor};
use multi_dilation::Merge;

use crate::common::*;

fn backends() -> Vec<(&'static str, Device)> {
    #[allow(deprecated, unused_mut)]
    let mut devices = vec![("flex", Device::flex()), ("ndarray", Device::ndarray())];
    #[cfg(feature = "wgpu")]
    devices.push((
        "wgpu",
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    ));
    devices
}

/// Output, input gradient and weight gradient of `case` on `device`.
fn run(case: &Case, device: &Device) -> [Vec<f32>; 3] {
    let ad = device.clone().autodiff();
    let layer = case.layer(60, &ad);
    let x: Tensor<4> = case.x(61, &ad).require_grad();
    let y = layer.forward(x.clone());
    let r = tensor(y.dims(), 62, &ad);
    let grads = (y.clone() * r).sum().backward();
    [
        host(y),
        host(x.grad(&grads).unwrap()),
        host(layer.weight.val().grad(&grads).unwrap()),
    ]
}

#[test]
fn backends_agree() {
    let mut even = Case::new([4, 6], [2, 3], [2, 4, 10, 9]);
    even.stride = [2, 2];
    even.groups = 2;
    even.merge = Merge::Max;
    let mut wide = Case::new([3, 4], [3, 3], [2, 3, 12, 12]);
    wide.dilations = vec![1, 3, 5];
    wide.merge = Merge::Concat;
    let backends = backends();
    for case in [even, wide] {
        let (name0, device0) = &backends[0];
        let expected = run(&case, device0);
        for (name, device) in &backends[1..] {
            let got = run(&case, device);
            for (what, (g, e)) in ["output", "grad x", "grad weight"]
                .iter()
                .zip(got.iter().zip(&expected))
            {
                assert_close(g, e, 1e-4, &format!("{name} vs {name0}, {what}, {case:?}"));
            }
        }
    }
}
