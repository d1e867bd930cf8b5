//! Sessions: the cache awsmfa keeps them in (`cache`) and the engine that decides when
//! to ask STS for a new one (`engine`). How long one may last is `crate::lifetime`.

pub mod cache;
pub mod engine;
