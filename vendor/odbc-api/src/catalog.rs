mod columns;
mod foreign_keys;
mod primary_keys;
mod tables;

pub use columns::{ColumnsRow, execute_columns};
pub use foreign_keys::{ForeignKeysRow, execute_foreign_keys};
pub use primary_keys::{PrimaryKeysRow, execute_primary_keys};
pub use tables::{TablesRow, execute_tables};
