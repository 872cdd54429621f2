//! The catalog functions (`SQLTables`, `SQLColumns`, ...) as a request: which function, and its
//! arguments as mxODBC names them. Every name argument may be `None`, passed to the driver as
//! a NULL pointer (which ODBC reads as "any"), as in mxODBC; `Some("")` is the empty string,
//! which ODBC reads as "objects without one" (for catalogs and schemas). Each call answers
//! with a result set, like a query.

use serde::{Deserialize, Serialize};

/// A catalog function and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogCall {
    /// `SQLTables`: tables, views, ... matching the patterns (`table_type` a comma-separated list
    /// such as `'TABLE','VIEW'`).
    Tables {
        /// Catalog (mxODBC's qualifier).
        catalog: Option<String>,
        /// Schema pattern (mxODBC's owner).
        schema: Option<String>,
        /// Table name pattern.
        table: Option<String>,
        /// Table types.
        table_type: Option<String>,
    },
    /// `SQLColumns`: the columns of the matching tables.
    Columns {
        /// Catalog.
        catalog: Option<String>,
        /// Schema pattern.
        schema: Option<String>,
        /// Table name pattern.
        table: Option<String>,
        /// Column name pattern.
        column: Option<String>,
    },
    /// `SQLPrimaryKeys`: the primary key columns of one table.
    PrimaryKeys {
        /// Catalog.
        catalog: Option<String>,
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: Option<String>,
    },
    /// `SQLForeignKeys`: the foreign keys referring to the primary table's key, or those of the
    /// foreign table, or the ones between the two.
    ForeignKeys {
        /// Primary table's catalog.
        pk_catalog: Option<String>,
        /// Primary table's schema.
        pk_schema: Option<String>,
        /// Primary table.
        pk_table: Option<String>,
        /// Foreign table's catalog.
        fk_catalog: Option<String>,
        /// Foreign table's schema.
        fk_schema: Option<String>,
        /// Foreign table.
        fk_table: Option<String>,
    },
    /// `SQLStatistics`: a table's statistics and indexes.
    Statistics {
        /// Catalog.
        catalog: Option<String>,
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: Option<String>,
        /// Only unique indexes (`SQL_INDEX_UNIQUE`) rather than all (`SQL_INDEX_ALL`).
        unique: bool,
        /// Exact cardinality and pages (`SQL_ENSURE`) rather than what is at hand (`SQL_QUICK`).
        exact: bool,
    },
    /// `SQLProcedures`: stored procedures and functions.
    Procedures {
        /// Catalog.
        catalog: Option<String>,
        /// Schema pattern.
        schema: Option<String>,
        /// Procedure name pattern.
        procedure: Option<String>,
    },
    /// `SQLProcedureColumns`: the parameters and result columns of procedures.
    ProcedureColumns {
        /// Catalog.
        catalog: Option<String>,
        /// Schema pattern.
        schema: Option<String>,
        /// Procedure name pattern.
        procedure: Option<String>,
        /// Column name pattern.
        column: Option<String>,
    },
    /// `SQLSpecialColumns`: the columns that identify a row (`SQL_BEST_ROWID` = 1) or change
    /// on every update (`SQL_ROWVER` = 2).
    SpecialColumns {
        /// `SQL_BEST_ROWID` (1) or `SQL_ROWVER` (2).
        identifier_type: u16,
        /// Catalog.
        catalog: Option<String>,
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: Option<String>,
        /// How long the row id stays valid: `SQL_SCOPE_CURROW` (0), `SQL_SCOPE_TRANSACTION`
        /// (1), `SQL_SCOPE_SESSION` (2).
        scope: u16,
        /// Whether to include nullable columns: `SQL_NO_NULLS` (0) or `SQL_NULLABLE` (1).
        nullable: u16,
    },
    /// `SQLTablePrivileges`: who may do what with the matching tables.
    TablePrivileges {
        /// Catalog.
        catalog: Option<String>,
        /// Schema pattern.
        schema: Option<String>,
        /// Table name pattern.
        table: Option<String>,
    },
    /// `SQLColumnPrivileges`: who may do what with one table's matching columns.
    ColumnPrivileges {
        /// Catalog.
        catalog: Option<String>,
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: Option<String>,
        /// Column name pattern.
        column: Option<String>,
    },
    /// `SQLGetTypeInfo`: the data types the data source supports; `data_type` 0
    /// (`SQL_ALL_TYPES`) lists all of them.
    TypeInfo {
        /// An SQL data type code, or 0 for all.
        data_type: i16,
    },
}

impl CatalogCall {
    /// The ODBC function this call makes, for logs and errors.
    pub fn function_name(&self) -> &'static str {
        match self {
            Self::Tables { .. } => "SQLTables",
            Self::Columns { .. } => "SQLColumns",
            Self::PrimaryKeys { .. } => "SQLPrimaryKeys",
            Self::ForeignKeys { .. } => "SQLForeignKeys",
            Self::Statistics { .. } => "SQLStatistics",
            Self::Procedures { .. } => "SQLProcedures",
            Self::ProcedureColumns { .. } => "SQLProcedureColumns",
            Self::SpecialColumns { .. } => "SQLSpecialColumns",
            Self::TablePrivileges { .. } => "SQLTablePrivileges",
            Self::ColumnPrivileges { .. } => "SQLColumnPrivileges",
            Self::TypeInfo { .. } => "SQLGetTypeInfo",
        }
    }

    /// Every name argument, in order, for the server's checks.
    pub fn names(&self) -> Vec<Option<&str>> {
        fn o(s: &Option<String>) -> Option<&str> {
            s.as_deref()
        }
        match self {
            Self::Tables {
                catalog,
                schema,
                table,
                table_type: last,
            }
            | Self::Columns {
                catalog,
                schema,
                table,
                column: last,
            }
            | Self::ColumnPrivileges {
                catalog,
                schema,
                table,
                column: last,
            } => vec![o(catalog), o(schema), o(table), o(last)],
            Self::ProcedureColumns {
                catalog,
                schema,
                procedure,
                column,
            } => vec![o(catalog), o(schema), o(procedure), o(column)],
            Self::PrimaryKeys {
                catalog,
                schema,
                table,
            }
            | Self::Statistics {
                catalog,
                schema,
                table,
                ..
            }
            | Self::SpecialColumns {
                catalog,
                schema,
                table,
                ..
            }
            | Self::TablePrivileges {
                catalog,
                schema,
                table,
            } => vec![o(catalog), o(schema), o(table)],
            Self::Procedures {
                catalog,
                schema,
                procedure,
            } => vec![o(catalog), o(schema), o(procedure)],
            Self::ForeignKeys {
                pk_catalog,
                pk_schema,
                pk_table,
                fk_catalog,
                fk_schema,
                fk_table,
            } => vec![
                o(pk_catalog),
                o(pk_schema),
                o(pk_table),
                o(fk_catalog),
                o(fk_schema),
                o(fk_table),
            ],
            Self::TypeInfo { .. } => Vec::new(),
        }
    }
}
