//! lakehunt's SQL functions for datafusion-python, through `datafusion-ffi`.
//!
//! Each function is handed over as an object with datafusion-python's
//! PyCapsule protocol (`__datafusion_scalar_udf__` or
//! `__datafusion_aggregate_udf__`), which `datafusion.udf(obj)` and
//! `datafusion.udaf(obj)` accept. The function runs in this library, on
//! the caller's Arrow arrays, with the same code the command runs.

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// One of lakehunt's scalar functions, ready for `datafusion.udf(...)`.
#[pyclass(frozen, module = "lakehunt._lakehunt")]
pub struct ScalarFunction {
    inner: Arc<ScalarUDF>,
}

#[pymethods]
impl ScalarFunction {
    /// The function's SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Other names it answers to.
    #[getter]
    fn aliases(&self) -> Vec<String> {
        self.inner.aliases().to_vec()
    }

    fn __repr__(&self) -> String {
        format!("<lakehunt scalar function {}>", self.inner.name())
    }

    /// The function as datafusion-ffi's stable struct, in a capsule.
    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let udf = FFI_ScalarUDF::from(Arc::clone(&self.inner));
        PyCapsule::new_with_value(py, udf, c"datafusion_scalar_udf")
    }
}

/// One of lakehunt's aggregate functions, ready for `datafusion.udaf(...)`.
#[pyclass(frozen, module = "lakehunt._lakehunt")]
pub struct AggregateFunction {
    inner: Arc<AggregateUDF>,
}

#[pymethods]
impl AggregateFunction {
    /// The function's SQL name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Other names it answers to.
    #[getter]
    fn aliases(&self) -> Vec<String> {
        self.inner.aliases().to_vec()
    }

    fn __repr__(&self) -> String {
        format!("<lakehunt aggregate function {}>", self.inner.name())
    }

    /// The function as datafusion-ffi's stable struct, in a capsule.
    fn __datafusion_aggregate_udf__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let udaf = FFI_AggregateUDF::from(Arc::clone(&self.inner));
        PyCapsule::new_with_value(py, udaf, c"datafusion_aggregate_udf")
    }
}

/// Every scalar function, one object each.
#[pyfunction]
pub fn scalar_functions() -> Vec<ScalarFunction> {
    lakehunt_udfs::all_udfs()
        .into_iter()
        .map(|inner| ScalarFunction { inner })
        .collect()
}

/// Every aggregate function, one object each.
#[pyfunction]
pub fn aggregate_functions() -> Vec<AggregateFunction> {
    lakehunt_udfs::all_udafs()
        .into_iter()
        .map(|inner| AggregateFunction { inner })
        .collect()
}

/// The major version of datafusion-ffi this module speaks; datafusion-python
/// must have the same.
#[pyfunction]
pub fn ffi_version() -> u64 {
    datafusion_ffi::version()
}
