//! Criterion benches: the layer against N independent `Conv2d` (same FLOPs) and one `Conv2d`
//! (1/N of the FLOPs), forward and forward+backward, on S1-S4, on flex and ndarray (and wgpu
//! with the `wgpu` feature); and the MNIST model's training step.
//!
//! `cargo bench -p multi-dilation-benches --bench layer` (filter: `-- S3/fwd+bwd`).

use burn::tensor::Device;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use multi_dilation_benches::{MnistStep, Path, SHAPES, Workload, input, run};

#[allow(deprecated)] // Device::ndarray: deprecated in burn 0.22, still the baseline here.
fn devices() -> Vec<(&'static str, Device)> {
    let cpu = [("flex", Device::flex()), ("ndarray", Device::ndarray())];
    #[cfg(feature = "wgpu")]
    let gpu = [(
        "wgpu",
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    )];
    #[cfg(not(feature = "wgpu"))]
    let gpu: [(&'static str, Device); 0] = [];
    cpu.into_iter().chain(gpu).collect()
}

fn layer(c: &mut Criterion) {
    for (backend, device) in devices() {
        for shape in &SHAPES {
            for backward in [false, true] {
                let mode = if backward { "fwd+bwd" } else { "fwd" };
                let mut group = c.benchmark_group(format!("{backend}/{}/{mode}", shape.name));
                group.sample_size(10);
                group.throughput(Throughput::Elements(shape.batch as u64));
                let device = if backward {
                    device.clone().autodiff()
                } else {
                    device.clone()
                };
                for path in Path::ALL.into_iter().filter(|p| p.runs_on(&device)) {
                    let workload = Workload::new(path, shape, &device);
                    let x = input(shape, &device, backward);
                    group.bench_function(BenchmarkId::from_parameter(path.name()), |b| {
                        b.iter(|| run(&workload, &x, backward))
                    });
                }
                group.finish();
            }
        }
    }
}

fn mnist_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("mnist_train_step");
    group.sample_size(10);
    for (backend, device) in devices() {
        group.throughput(Throughput::Elements(64));
        let mut step = MnistStep::new(64, &device.clone().autodiff());
        group.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.iter(|| step.step())
        });
    }
    group.finish();
}

criterion_group!(benches, layer, mnist_step);
criterion_main!(benches);
