//! The ground floor for files: reading what may have been committed by
//! someone else as files, never through a link ([`fsx`]), and writing
//! atomically ([`atomic`]). Nothing here knows about vaults, keys or
//! policies: it imports only [`crate::base::error`] and [`crate::base::text`].

pub mod atomic;
pub mod fsx;
