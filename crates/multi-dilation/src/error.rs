//! The error returned by the `try_init` constructors.

use std::fmt;

/// A configuration value that cannot build a module.
///
/// It names the field (for nested configs with a dotted path, such as `conv.channels`), the
/// value as written in the config, and why it is rejected. The `init` constructors panic with
/// exactly this error's `Display` text.
///
/// # Example
/// ```
/// use burn::tensor::Device;
/// use multi_dilation::MultiDilationConv2dConfig;
///
/// let err = MultiDilationConv2dConfig::new([1, 4], [3, 3])
///     .with_dilations(vec![1, 0])
///     .try_init(&Device::default())
///     .unwrap_err();
/// assert_eq!(err.field, "dilations");
/// assert_eq!(err.value, "[1, 0]");
/// assert!(err.to_string().contains("dilations"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The rejected field, for example `"dilations"` or `"conv.kernel_size"`.
    pub field: String,
    /// The rejected value, formatted with `Debug`, for example `"[1, 0]"`.
    pub value: String,
    /// Why the value is rejected.
    pub reason: String,
}

impl ConfigError {
    /// Builds an error for `field` holding `value`.
    ///
    /// # Example
    /// ```
    /// use multi_dilation::ConfigError;
    /// let err = ConfigError::new("groups", &0usize, "must be at least 1");
    /// assert_eq!(err.to_string(), "invalid `groups` = 0: must be at least 1");
    /// ```
    pub fn new(
        field: impl Into<String>,
        value: &(impl fmt::Debug + ?Sized),
        reason: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            value: format!("{value:?}"),
            reason: reason.into(),
        }
    }

    /// The same error with its field nested under `parent` (`conv` + `dilations` gives
    /// `conv.dilations`).
    ///
    /// # Example
    /// ```
    /// use multi_dilation::ConfigError;
    /// let err = ConfigError::new("groups", &0usize, "must be at least 1").nested("conv");
    /// assert_eq!(err.field, "conv.groups");
    /// ```
    pub fn nested(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid `{}` = {}: {}",
            self.field, self.value, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}
