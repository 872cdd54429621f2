//! `Batch`: several statements in one request, run in order, each with its own outcome;
//! either independently or all or nothing (one transaction of its own).

use super::{DbConnection, DbReply};
use crate::error::{DbError, ErrorClass};
use crate::proto::statement::{BatchMode, BatchOutcome, BatchStatement};

/// The most bytes of rows one batch answer carries (all statements together); statements
/// after the budget is spent return no rows (`complete` false).
const BATCH_ROW_BYTES: usize = 16 * 1024 * 1024;

impl DbConnection {
    /// Runs `statements` in order; in `Atomic` mode the first failure rolls back those
    /// before it and skips the rest.
    pub(crate) fn batch(
        &mut self,
        statements: &[BatchStatement],
        mode: BatchMode,
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        let atomic = mode == BatchMode::Atomic;
        if atomic {
            if !self.autocommit {
                return Err(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "25000",
                    "an atomic batch is a transaction of its own: run it with autocommit on (or run the statements as an independent batch inside your transaction)",
                ));
            }
            self.set_autocommit(false)?;
        }
        let mut outcomes = Vec::with_capacity(statements.len());
        let mut budget = BATCH_ROW_BYTES;
        let mut failed = false;
        for st in statements {
            if (failed && atomic) || self.cancel.was_cancelled() {
                // Cancelled (by the client or `max_request_execution_time`): the rest does
                // not run.
                outcomes.push(BatchOutcome::Skipped);
                continue;
            }
            let want = if budget == 0 { 0 } else { max_rows };
            match self.run_for_batch(&st.sql, &st.params, want, budget) {
                Ok((columns, rowcount, rows, complete)) => {
                    budget = budget.saturating_sub(rows.byte_len());
                    let rows = rows
                        .decode()
                        .map_err(|e| DbError::new(ErrorClass::InternalError, e.to_string()))?;
                    outcomes.push(BatchOutcome::Done {
                        columns,
                        rowcount,
                        rows,
                        complete,
                    });
                }
                Err(e) => {
                    failed = true;
                    outcomes.push(BatchOutcome::Failed(e));
                }
            }
        }
        if atomic {
            let end = if failed {
                self.rollback()
            } else {
                self.commit()
            };
            let restored = self.set_autocommit(true);
            if let Err(mut e) = end {
                e.message = format!(
                    "the batch ran, but its {} failed: {}",
                    if failed { "ROLLBACK" } else { "COMMIT" },
                    e.message
                );
                return Err(e);
            }
            restored?;
        }
        Ok(DbReply::Batch(outcomes))
    }
}
