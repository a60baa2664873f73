//! Query parameters: repeated keys (`id=a&id=b`), dotted names (`user.email=`), and typed
//! reads that answer a bad value with an Access validation error (12130).

use super::CfError;

/// The highest `page` a page-numbered list takes.
pub const MAX_PAGE: u32 = 1_000_000;

/// A page of a page-numbered list, in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber {
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

impl PageNumber {
    /// How many items come before this page (cannot overflow: both factors are u32).
    pub fn skip(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// The parsed query string.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Result<Self, CfError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Params)
            .map_err(|_| CfError::invalid("malformed query string"))
    }

    /// The last value of `name` (also `name[]`), if present and not empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().last().filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// Every value of `name` (also `name[]`), in order, empty ones skipped.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name || k.strip_suffix("[]") == Some(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A boolean (`true` / `false`, any case).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, CfError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(CfError::invalid(format!("{name} must be true or false"))),
        }
    }

    /// An integer within `min..=max`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, CfError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(CfError::invalid(format!("{name} must be an integer from {min} to {max}"))),
            },
        }
    }

    /// An unsigned integer within `min..=max` (parsed as such: no sign, no overflow).
    pub fn uint(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>, CfError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(CfError::invalid(format!("{name} must be an integer from {min} to {max}"))),
            },
        }
    }

    /// `page` (from 1 to [`MAX_PAGE`], default 1) and `per_page` (from 1 to `max_per_page`,
    /// default `default_per_page`) of a page-numbered list.
    pub fn page_number(&self, default_per_page: u32, max_per_page: u32) -> Result<PageNumber, CfError> {
        Ok(PageNumber {
            page: self.uint("page", 1, MAX_PAGE)?.unwrap_or(1),
            per_page: self.uint("per_page", 1, max_per_page)?.unwrap_or(default_per_page),
        })
    }

    /// One of the allowed words.
    pub fn choice(&self, name: &str, allowed: &[&'static str]) -> Result<Option<&'static str>, CfError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| **a == v)
                .copied()
                .map(Some)
                .ok_or_else(|| CfError::invalid(format!("{name} must be one of {}", allowed.join(", ")))),
        }
    }
}
