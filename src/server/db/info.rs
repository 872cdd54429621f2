//! `SQLGetInfo` (every information type of [`crate::proto::info`], cached per connection when
//! the answer cannot change) and the connection attributes a client may set (isolation level,
//! read-only).

use super::diag::records;
use super::odbc_calls::{self, RawDbc, ATTR_ACCESS_MODE, ATTR_TXN_ISOLATION};
use super::{DbConnection, DbReply};
use crate::error::{DbError, ErrorClass};
use crate::proto::info::{info_type_by_id, info_type_by_name};
use crate::proto::statement::{ConnectionOption, InfoValue};

impl DbConnection {
    /// `GetInfo`.
    pub(crate) fn get_info(&mut self, id: u16) -> Result<DbReply, DbError> {
        let Some(info) = info_type_by_id(id) else {
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "HY096",
                format!("{id} is not an SQLGetInfo information type odbcd knows"),
            ));
        };
        if let Some(v) = self.info_cache.get(&id) {
            return Ok(DbReply::Info(v.clone()));
        }
        let dbc = self.conn()?.as_sys();
        match odbc_calls::get_info(dbc, info) {
            Ok(v) => {
                if info.constant {
                    self.info_cache.insert(id, v.clone());
                }
                Ok(DbReply::Info(v))
            }
            Err(_) => Err(DbError::from_records(
                records(&RawDbc(dbc)),
                format!("SQLGetInfo({}) failed", info.name),
            )),
        }
    }

    /// A numeric information type by name, for the connection's own decisions.
    pub(crate) fn info_number(&mut self, name: &str) -> Option<u64> {
        let id = info_type_by_name(name)?.id;
        match self.get_info(id) {
            Ok(DbReply::Info(InfoValue::Integer(n))) => Some(n),
            _ => None,
        }
    }

    /// `SetConnectionOption`.
    pub(crate) fn set_connection_option(
        &mut self,
        option: crate::proto::statement::ConnectionOption,
    ) -> Result<DbReply, DbError> {
        let dbc = self.conn()?.as_sys();
        let (attribute, value, what) = match option {
            ConnectionOption::Isolation(level) => {
                (ATTR_TXN_ISOLATION, level.odbc_value(), "isolation level")
            }
            ConnectionOption::ReadOnly(on) => (ATTR_ACCESS_MODE, u32::from(on), "access mode"),
        };
        // From now on the connection differs from a fresh one: it is not pooled.
        self.attributes_changed = true;
        let rc = odbc_calls::set_connect_attr(dbc, attribute, value);
        super::warnings::note(rc, &RawDbc(dbc));
        if !odbc_calls::succeeded(rc) {
            return Err(DbError::from_records(
                records(&RawDbc(dbc)),
                format!("the driver refuses to set the {what}"),
            ));
        }
        if odbc_calls::get_connect_attr(dbc, attribute).is_some_and(|v| v != value) {
            return Err(DbError::with_state(
                ErrorClass::NotSupportedError,
                "HYC00",
                format!("the driver does not support this {what}"),
            ));
        }
        Ok(DbReply::Done)
    }
}
