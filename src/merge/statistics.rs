//! STD, STDDEV, STDDEV_POP, STDDEV_SAMP, VARIANCE, VAR_POP and VAR_SAMP
//! merged across data nodes. Each unit sends its COUNT(x), SUM(x) and
//! VAR_POP(x) of a group; those are its count, mean and sum of squared
//! deviations (M2 = VAR_POP × count), which combine pairwise by Chan et al.'s
//! formula — numerically stable, no sum of squares that cancels — and the
//! merged result is M2 / n (population) or M2 / (n - 1) (sample), or its
//! square root, a DOUBLE as MySQL returns. Memory: three numbers per group.

use super::number::{float_of, int_of};
use crate::error::Error;
use mysql_common::value::Value;

/// The running count, mean and M2 of one group's values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Moments {
    /// How many values.
    pub n: f64,
    /// Their mean.
    pub mean: f64,
    /// The sum of their squared deviations from the mean.
    pub m2: f64,
}

/// Which of the statistics a column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statistic {
    /// Divides by n - 1 (VAR_SAMP, STDDEV_SAMP); NULL for fewer than two values.
    pub sample: bool,
    /// The square root (the STD forms).
    pub root: bool,
}

impl Moments {
    /// One unit's moments from its COUNT, SUM and VAR_POP (`None` for no values).
    pub fn of_unit(count: &Value, sum: &Value, var_pop: &Value) -> Result<Option<Moments>, Error> {
        let n = match count {
            Value::NULL => 0,
            v => int_of(v).ok_or_else(|| unreadable("COUNT", v))?,
        };
        if n <= 0 {
            return Ok(None);
        }
        let n = n as f64;
        let sum = float_of(sum).ok_or_else(|| unreadable("SUM", sum))?;
        let var_pop = float_of(var_pop).ok_or_else(|| unreadable("VAR_POP", var_pop))?;
        Ok(Some(Moments {
            n,
            mean: sum / n,
            m2: var_pop * n,
        }))
    }

    /// Adds `other`'s values to these (Chan, Golub and LeVeque's update).
    pub fn combine(&mut self, other: &Moments) {
        if other.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        self.mean += delta * (other.n / n);
        self.m2 += other.m2 + delta * delta * (self.n * other.n / n);
        self.n = n;
    }

    /// The statistic over these values; `None` (NULL) when there are too few.
    pub fn value(&self, statistic: Statistic) -> Option<f64> {
        let divisor = if statistic.sample {
            self.n - 1.0
        } else {
            self.n
        };
        if divisor <= 0.0 {
            return None;
        }
        // Rounding can leave a tiny negative M2 for equal values.
        let variance = (self.m2 / divisor).max(0.0);
        Some(if statistic.root {
            variance.sqrt()
        } else {
            variance
        })
    }
}

fn unreadable(what: &str, value: &Value) -> Error {
    Error::internal(format!(
        "merge: a unit sent {value:?} where the {what} of a variance belongs"
    ))
}

#[cfg(test)]
mod tests;
