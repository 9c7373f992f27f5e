//! The instruction set the kernel's own loops run on (the Winograd transforms, im2col and
//! col2im, the epilogue): [`Isa`], detected once at run time, and [`multiversion!`], which
//! compiles a loop once per instruction set and calls the copy the [`Isa`] names.
//!
//! The crate is built for baseline x86-64, where an `[f32; 8]` step compiles to two 4-lane SSE
//! instructions. A function with `#[target_feature(enable = "avx2,fma")]` compiles the same
//! source to 8-lane AVX2 (and the closures inside it inherit its features), so each
//! multiversioned function's body is written once and compiled into one `#[target_feature]`
//! copy per level; the helpers it calls are `#[inline(always)]`, so they are compiled into each
//! copy rather than called at the baseline level. gemm does its own dispatch.

use std::sync::OnceLock;

/// An instruction-set level of x86-64, lowest first. A level this build does not compile (on
/// other architectures, or AVX-512 without the `x86-v4` feature) is never built.
#[cfg_attr(
    any(not(target_arch = "x86_64"), not(feature = "x86-v4")),
    allow(dead_code)
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Whatever the crate is compiled for (SSE2 on x86-64; every other architecture).
    Baseline,
    /// AVX2 and FMA (x86-64-v3).
    Avx2,
    /// AVX-512 F, VL, DQ and BW with AVX2 and FMA (x86-64-v4); only with the `x86-v4` feature.
    Avx512,
}

/// A [`Level`] that this CPU runs: the only way to build one is to detect it, so holding an
/// `Isa` is proof that its instructions are safe to execute ([`multiversion!`] relies on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Isa(Level);

impl Isa {
    /// The highest level this CPU runs and this build compiles, detected once.
    pub fn detect() -> Self {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            Self::available()
                .into_iter()
                .last()
                .unwrap_or(Self(Level::Baseline))
        })
    }

    /// Every level this CPU runs and this build compiles, lowest first (tests run each).
    pub fn available() -> Vec<Self> {
        let mut levels = vec![Self(Level::Baseline)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                levels.push(Self(Level::Avx2));
                #[cfg(feature = "x86-v4")]
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                {
                    levels.push(Self(Level::Avx512));
                }
            }
        }
        levels
    }

    /// The level.
    pub fn level(self) -> Level {
        self.0
    }
}

/// `multiversion! { fn name(args) -> T { body } }` defines `fn name(isa: Isa, args) -> T` that
/// runs `body` compiled for `isa`'s level: one `#[target_feature]` copy of the body per level
/// (AVX2 and FMA; AVX-512 with the `x86-v4` feature), and the plain body at the baseline. The
/// body must call only `#[inline(always)]` helpers in its hot loops (calls to other functions
/// run at the baseline level).
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(isa: $crate::fused::cpu::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(all(target_arch = "x86_64", feature = "x86-v4"))]
            #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) $(-> $ret)? $body

            #[allow(clippy::too_many_arguments)]
            fn baseline($($arg: $ty),*) $(-> $ret)? $body

            use $crate::fused::cpu::isa::Level;
            match isa.level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: an `Isa` is only built by `Isa::detect`/`Isa::available` for a level
                // whose features `is_x86_feature_detected!` reported on this CPU, so the AVX2
                // and FMA instructions of `avx2` are supported. The function is otherwise safe
                // (no raw pointers: its body is safe code). Tested by running every test of the
                // kernel at each level `Isa::available` lists.
                #[allow(unsafe_code)]
                Level::Avx2 => unsafe { avx2($($arg),*) },
                #[cfg(all(target_arch = "x86_64", feature = "x86-v4"))]
                // SAFETY: as for `avx2`: the level is only built after every feature in
                // `avx512`'s `target_feature` list was detected on this CPU.
                #[allow(unsafe_code)]
                Level::Avx512 => unsafe { avx512($($arg),*) },
                _ => baseline($($arg),*),
            }
        }
    };
}

pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    multiversion! {
        /// Twice each value, plus one: a loop that every level vectorizes.
        fn twice_plus_one(values: &mut [f32]) {
            for value in values.iter_mut() {
                *value = value.mul_add(2.0, 1.0);
            }
        }
    }

    #[test]
    fn every_available_level_computes_the_same_and_the_highest_is_detected() {
        let levels = Isa::available();
        assert_eq!(levels[0].level(), Level::Baseline);
        assert!(
            levels
                .windows(2)
                .all(|pair| pair[0].level() < pair[1].level())
        );
        assert_eq!(
            Isa::detect(),
            *levels.last().expect("baseline is always there")
        );
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            assert!(levels.iter().any(|isa| isa.level() == Level::Avx2));
        }
        for isa in levels {
            let mut values: Vec<f32> = (0..37).map(|i| i as f32 * 0.25 - 3.0).collect();
            twice_plus_one(isa, &mut values);
            for (i, value) in values.iter().enumerate() {
                assert_eq!(
                    *value,
                    (i as f32 * 0.25 - 3.0) * 2.0 + 1.0,
                    "{isa:?} at {i}"
                );
            }
        }
    }
}
