//! Linux system call numbers, names and the dispatch tables.

pub mod names;
pub mod table;

pub use table::{lookup, name_of, table_of, Entry, Status};
