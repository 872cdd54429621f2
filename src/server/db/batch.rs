//! `Batch`: several statements in one request, run in order, each with its own outcome;
//! either independently or all or nothing (one transaction of its own).
//!
//! The answer is bounded before it is built: statements per batch ([`MAX_BATCH_STATEMENTS`])
//! and the memory of the outcomes ([`BATCH_ANSWER_BYTES`], counting decoded values at their
//! in-memory size, column descriptions and error texts). Once that is spent, later statements
//! still run but return no rows (`complete` false).

use super::{DbConnection, DbReply};
use crate::error::{DbError, ErrorClass};
use crate::proto::statement::{BatchMode, BatchOutcome, BatchStatement};
use crate::proto::value::Value;

/// The most statements one batch may hold.
pub const MAX_BATCH_STATEMENTS: usize = 10_000;

/// The most memory the outcomes of one batch may take (well under a frame's 64 MiB on the
/// wire, where values take less room than in memory).
const BATCH_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// What one value of a decoded row takes in memory, beyond its contents.
const VALUE_BYTES: usize = std::mem::size_of::<Value>();

impl DbConnection {
    /// Runs `statements` in order; in `Atomic` mode the first failure (or a cancel) rolls
    /// back those before it and skips the rest.
    pub(crate) fn batch(
        &mut self,
        statements: &[BatchStatement],
        mode: BatchMode,
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        if statements.len() > MAX_BATCH_STATEMENTS {
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "54000",
                format!(
                    "a batch of {} statements: at most {MAX_BATCH_STATEMENTS} may go in one",
                    statements.len()
                ),
            ));
        }
        let atomic = mode == BatchMode::Atomic;
        if atomic {
            if !self.autocommit {
                return Err(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "25000",
                    "an atomic batch is a transaction of its own: run it with autocommit on (or run the statements as an independent batch inside your transaction)",
                ));
            }
            if self.transaction_begun_in_sql {
                return Err(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "25000",
                    "an atomic batch is a transaction of its own, and this connection is inside one begun in SQL (BEGIN): end it first (or run the statements as an independent batch inside it)",
                ));
            }
            self.set_autocommit(false)?;
        }
        let mut outcomes = Vec::with_capacity(statements.len());
        let mut budget = BATCH_ANSWER_BYTES.saturating_sub(statements.len() * 64);
        let mut failed = false;
        for st in statements {
            // Cancelled (by the client or `max_request_execution_time`): the rest does not
            // run, and an atomic batch is rolled back.
            if self.cancel.was_cancelled() {
                failed = true;
            }
            if failed && (atomic || self.cancel.was_cancelled()) {
                outcomes.push(BatchOutcome::Skipped);
                continue;
            }
            let want = if budget == 0 { 0 } else { max_rows };
            let outcome = self
                .run_for_batch(&st.sql, &st.params, want, budget / 2)
                .and_then(|(columns, rowcount, rows, complete)| {
                    let cells = rows.len() * columns.as_ref().map_or(0, Vec::len);
                    let cost = rows.byte_len()
                        + cells * VALUE_BYTES
                        + rows.len() * 24
                        + columns
                            .iter()
                            .flatten()
                            .map(|c| c.name.len() + 96)
                            .sum::<usize>();
                    let rows = rows
                        .decode()
                        .map_err(|e| DbError::new(ErrorClass::InternalError, e.to_string()))?;
                    Ok((cost, columns, rowcount, rows, complete))
                });
            match outcome {
                Ok((cost, columns, rowcount, rows, complete)) => {
                    budget = budget.saturating_sub(cost);
                    outcomes.push(BatchOutcome::Done {
                        columns,
                        rowcount,
                        rows,
                        complete,
                    });
                }
                Err(e) => {
                    let cost = e.message.len()
                        + e.records
                            .iter()
                            .map(|r| r.message.len() + 64)
                            .sum::<usize>()
                        + 128;
                    budget = budget.saturating_sub(cost);
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
            if let Err(e) = self.set_autocommit(true) {
                // The client believes autocommit is on: never hand this connection on.
                self.poisoned = true;
                return Err(DbError {
                    message: format!(
                        "the batch ended, but autocommit could not be turned back on (the connection stays in manual-commit mode): {}",
                        e.message
                    ),
                    ..e
                });
            }
            if let Err(mut e) = end {
                e.message = format!(
                    "the batch ran, but its {} failed: {}",
                    if failed { "ROLLBACK" } else { "COMMIT" },
                    e.message
                );
                return Err(e);
            }
        }
        Ok(DbReply::Batch(outcomes))
    }
}
